//! `/api/v1/timelines/*`, `/api/v1/bookmarks`, `/api/v1/favourites`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::app::App;
use crate::http::api::{PageParams, paged, paged_json};
use crate::http::auth::{Auth, MaybeAuth, PendingAuth};
use crate::http::error::ApiError;
use crate::http::params::{QueryParams, de};
use crate::service::present::Presenter;
use crate::service::visibility::{visible, without_hidden_authors};
use crate::store::feeds::Mark;
use crate::store::statuses::DbStatus;

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/timelines/home", get(home))
        .route("/api/v1/timelines/public", get(public))
        .route("/api/v1/timelines/tag/{hashtag}", get(tag))
        .route("/api/v1/bookmarks", get(bookmarks))
        .route("/api/v1/favourites", get(favourites))
}

/// Presents a timeline page for the viewer, applying their filters for
/// `context`, with the `Link` header.
async fn timeline(
    app: &App,
    viewer: Option<i64>,
    context: &str,
    path: &str,
    rows: Vec<DbStatus>,
    cursors: Option<Vec<i64>>,
) -> Result<Response, ApiError> {
    timeline_with(app, viewer, viewer.is_some(), context, path, rows, cursors).await
}

/// [`timeline`], told whether the viewer has filters at all (from their
/// [`ViewerContext`](crate::store::social::ViewerContext)).
async fn timeline_with(
    app: &App,
    viewer: Option<i64>,
    has_filters: bool,
    context: &str,
    path: &str,
    rows: Vec<DbStatus>,
    cursors: Option<Vec<i64>>,
) -> Result<Response, ApiError> {
    let cursors = cursors.unwrap_or_else(|| rows.iter().map(|s| s.id).collect());
    let mut items = Presenter::new(app, viewer).statuses(&rows).await?;
    if let Some(v) = viewer.filter(|_| has_filters) {
        crate::service::filters::apply(app, v, context, &mut items).await?;
    }
    Ok(paged(app, path, &items, &cursors))
}

async fn home(
    State(app): State<App>,
    auth: PendingAuth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account(&app, "read:statuses").await?;
    let home =
        crate::service::statuses::home_timeline(&app, me, p.page(20, 40), auth.confirm).await?;
    if home.token_refused {
        return Err(auth.refused(&app));
    }
    let rows = without_hidden_authors(&app, &home.context.hidden, home.statuses).await?;
    let cursors: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let presenter = Presenter::new(&app, Some(me)).with_flags(home.flags, home.flagged);
    const PATH: &str = "/api/v1/timelines/home";
    if !home.context.has_filters {
        let json = presenter.statuses_json(&rows).await?;
        return Ok(paged_json(&app, PATH, json, &cursors));
    }
    let mut items = presenter.statuses(&rows).await?;
    crate::service::filters::apply(&app, me, "home", &mut items).await?;
    Ok(paged(&app, PATH, &items, &cursors))
}

#[derive(Debug, Deserialize)]
struct PublicParams {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "de::bool")]
    local: bool,
    #[serde(default, deserialize_with = "de::bool")]
    remote: bool,
    #[serde(default, deserialize_with = "de::bool")]
    only_media: bool,
}

impl PublicParams {
    fn locality(&self) -> Option<bool> {
        match (self.local, self.remote) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }
}

/// The public and hashtag timelines: visible to all, minus what the viewer
/// hides.
async fn public_page(
    app: &App,
    viewer: Option<i64>,
    path: &str,
    rows: Vec<DbStatus>,
) -> Result<Response, ApiError> {
    let Some(v) = viewer else {
        return timeline(app, None, "public", path, rows, None).await;
    };
    let ctx = app.store().viewer_context(v, None).await?;
    let rows = without_hidden_authors(app, &ctx.hidden, visible(app, viewer, rows).await?).await?;
    timeline_with(app, viewer, ctx.has_filters, "public", path, rows, None).await
}

async fn public(
    State(app): State<App>,
    auth: MaybeAuth,
    QueryParams(p): QueryParams<PublicParams>,
) -> Result<Response, ApiError> {
    // No media support yet: `only_media` finds nothing.
    let rows = if p.only_media {
        Vec::new()
    } else {
        app.store()
            .public_timeline(p.locality(), p.page.page(20, 40))
            .await?
    };
    public_page(&app, auth.viewer(), "/api/v1/timelines/public", rows).await
}

async fn tag(
    State(app): State<App>,
    auth: MaybeAuth,
    Path(hashtag): Path<String>,
    QueryParams(p): QueryParams<PublicParams>,
) -> Result<Response, ApiError> {
    let rows = if p.only_media {
        Vec::new()
    } else {
        app.store()
            .tag_timeline(&hashtag, p.locality(), p.page.page(20, 40))
            .await?
    };
    public_page(
        &app,
        auth.viewer(),
        &format!("/api/v1/timelines/tag/{hashtag}"),
        rows,
    )
    .await
}

async fn marked(
    app: &App,
    me: i64,
    mark: Mark,
    path: &str,
    page: PageParams,
) -> Result<Response, ApiError> {
    let marked = app
        .store()
        .marked_statuses(mark, me, page.page(20, 40))
        .await?;
    let (cursors, rows): (Vec<i64>, Vec<DbStatus>) = marked.into_iter().unzip();
    // Something bookmarked may have become invisible since (unfollowed, blocked).
    let keep = visible(app, Some(me), rows.clone()).await?;
    let (cursors, rows): (Vec<i64>, Vec<DbStatus>) = cursors
        .into_iter()
        .zip(rows)
        .filter(|(_, s)| keep.iter().any(|k| k.id == s.id))
        .unzip();
    let items = Presenter::new(app, Some(me)).statuses(&rows).await?;
    Ok(paged(app, path, &items, &cursors))
}

async fn bookmarks(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:bookmarks")?;
    marked(&app, me, Mark::Bookmark, "/api/v1/bookmarks", p).await
}

async fn favourites(
    State(app): State<App>,
    auth: Auth,
    QueryParams(p): QueryParams<PageParams>,
) -> Result<Response, ApiError> {
    let me = auth.account("read:favourites")?;
    marked(&app, me, Mark::Favourite, "/api/v1/favourites", p).await
}
