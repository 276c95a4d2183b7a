//! `/api/v2/filters/*` and `/api/v2/filter_keywords/*`: content filters and
//! their keywords. The rules live in `service::filters`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};
use starling_protocol::mastodon::{Filter, FilterKeyword, FilterStatus};

use crate::app::App;
use crate::http::auth::Auth;
use crate::http::error::ApiError;
use crate::http::params::{Params, de};
use crate::service::filters::{self, FilterError, FilterInput, KeywordInput};

/// The routes of this module.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v2/filters", get(index).post(create))
        .route(
            "/api/v2/filters/{id}",
            get(show).put(update).patch(update).delete(destroy),
        )
        .route(
            "/api/v2/filters/{id}/keywords",
            get(keywords).post(add_keyword),
        )
        .route("/api/v2/filters/{id}/statuses", get(statuses))
        .route(
            "/api/v2/filter_keywords/{id}",
            get(show_keyword)
                .put(update_keyword)
                .patch(update_keyword)
                .delete(destroy_keyword),
        )
}

impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        match e {
            FilterError::NotFound => ApiError::NotFound(e.to_string()),
            FilterError::Invalid(_) => ApiError::Unprocessable(e.to_string()),
            FilterError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// A path id; anything that is not one is an unknown record.
fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("Record not found".into()))
}

/// A present parameter, even when null or empty (`Some(None)`), told apart
/// from an absent one (`None`).
fn present_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    de::opt_i64(d).map(Some)
}

fn present_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    de::strings(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct FilterParams {
    #[serde(default)]
    title: Option<String>,
    #[serde(default, deserialize_with = "present_strings")]
    context: Option<Vec<String>>,
    #[serde(default)]
    filter_action: Option<String>,
    #[serde(default, deserialize_with = "present_i64")]
    expires_in: Option<Option<i64>>,
    #[serde(default)]
    keywords_attributes: Value,
}

#[derive(Debug, Deserialize)]
struct KeywordAttrs {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<i64>,
    #[serde(default)]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    whole_word: Option<bool>,
    #[serde(default, rename = "_destroy", deserialize_with = "de::bool")]
    destroy: bool,
}

/// `keywords_attributes` in any shape clients send: a JSON array of objects,
/// an object keyed by index (`{"0": {...}}`), the form encoding
/// `keywords_attributes[0][keyword]=x` (which the params extractor turns into
/// `{"0.keyword": "x"}`), or one bare object.
fn keyword_inputs(value: Value) -> Result<Vec<KeywordInput>, ApiError> {
    let objects: Vec<Map<String, Value>> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(o) => Ok(o),
                other => Err(ApiError::Unprocessable(format!(
                    "Validation failed: keywords_attributes entry {other} is not an object"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Value::Object(map) => {
            let bare = map
                .iter()
                .all(|(k, v)| !k.contains('.') && !v.is_object() && k.parse::<u64>().is_err());
            if bare {
                vec![map]
            } else {
                // Sorted by numeric index, then by the index as written.
                let mut groups: BTreeMap<(u64, String), Map<String, Value>> = BTreeMap::new();
                for (key, v) in map {
                    let (index, field) = match key.split_once('.') {
                        Some((i, f)) => (i.to_owned(), Some(f.to_owned())),
                        None => (key, None),
                    };
                    let slot = groups
                        .entry((index.parse().unwrap_or(u64::MAX), index))
                        .or_default();
                    match (field, v) {
                        (Some(field), v) => {
                            slot.insert(field, v);
                        }
                        (None, Value::Object(inner)) => slot.extend(inner),
                        (None, other) => {
                            return Err(ApiError::Unprocessable(format!(
                                "Validation failed: keywords_attributes entry {other} is not an object"
                            )));
                        }
                    }
                }
                groups.into_values().collect()
            }
        }
        other => {
            return Err(ApiError::Unprocessable(format!(
                "Validation failed: keywords_attributes {other} is not a list"
            )));
        }
    };
    objects
        .into_iter()
        .map(|o| {
            let a: KeywordAttrs = serde_json::from_value(Value::Object(o))
                .map_err(|e| ApiError::Unprocessable(format!("Validation failed: {e}")))?;
            Ok(KeywordInput {
                id: a.id,
                keyword: a.keyword,
                whole_word: a.whole_word,
                destroy: a.destroy,
            })
        })
        .collect()
}

fn filter_input(p: FilterParams) -> Result<FilterInput, ApiError> {
    Ok(FilterInput {
        title: p.title,
        context: p.context,
        action: p.filter_action,
        expires_in: p.expires_in,
        keywords: keyword_inputs(p.keywords_attributes)?,
    })
}

async fn index(State(app): State<App>, auth: Auth) -> Result<Json<Vec<Filter>>, ApiError> {
    let owner = auth.account("read:filters")?;
    Ok(Json(filters::list(&app, owner).await?))
}

async fn show(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Filter>, ApiError> {
    let owner = auth.account("read:filters")?;
    Ok(Json(filters::get(&app, owner, id(&raw)?).await?))
}

async fn create(
    State(app): State<App>,
    auth: Auth,
    Params(p): Params<FilterParams>,
) -> Result<Json<Filter>, ApiError> {
    let owner = auth.account("write:filters")?;
    Ok(Json(filters::create(&app, owner, filter_input(p)?).await?))
}

async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<FilterParams>,
) -> Result<Json<Filter>, ApiError> {
    let owner = auth.account("write:filters")?;
    let id = id(&raw)?;
    Ok(Json(
        filters::update(&app, owner, id, filter_input(p)?).await?,
    ))
}

async fn destroy(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let owner = auth.account("write:filters")?;
    filters::delete(&app, owner, id(&raw)?).await?;
    Ok(Json(json!({})))
}

/// Status filters are not kept: a filter of the owner's has none.
async fn statuses(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Vec<FilterStatus>>, ApiError> {
    let owner = auth.account("read:filters")?;
    filters::get(&app, owner, id(&raw)?).await?;
    Ok(Json(Vec::new()))
}

#[derive(Debug, Deserialize)]
struct KeywordParams {
    #[serde(default)]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    whole_word: Option<bool>,
}

async fn keywords(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Vec<FilterKeyword>>, ApiError> {
    let owner = auth.account("read:filters")?;
    Ok(Json(filters::keywords(&app, owner, id(&raw)?).await?))
}

async fn add_keyword(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<KeywordParams>,
) -> Result<Json<FilterKeyword>, ApiError> {
    let owner = auth.account("write:filters")?;
    let keyword = p.keyword.unwrap_or_default();
    Ok(Json(
        filters::add_keyword(&app, owner, id(&raw)?, &keyword, p.whole_word).await?,
    ))
}

async fn show_keyword(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<FilterKeyword>, ApiError> {
    let owner = auth.account("read:filters")?;
    Ok(Json(filters::get_keyword(&app, owner, id(&raw)?).await?))
}

async fn update_keyword(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
    Params(p): Params<KeywordParams>,
) -> Result<Json<FilterKeyword>, ApiError> {
    let owner = auth.account("write:filters")?;
    Ok(Json(
        filters::update_keyword(&app, owner, id(&raw)?, p.keyword.as_deref(), p.whole_word).await?,
    ))
}

async fn destroy_keyword(
    State(app): State<App>,
    auth: Auth,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let owner = auth.account("write:filters")?;
    filters::delete_keyword(&app, owner, id(&raw)?).await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::params::form_to_object;

    fn inputs(v: Value) -> Vec<KeywordInput> {
        keyword_inputs(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keywords_from_json_arrays() {
        let got = inputs(json!([
            {"keyword": "a", "whole_word": false},
            {"id": "7", "_destroy": "true"},
        ]));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].keyword.as_deref(), Some("a"));
        assert_eq!(got[0].whole_word, Some(false));
        assert_eq!(got[1].id, Some(7));
        assert!(got[1].destroy);
    }

    #[test]
    fn keywords_from_forms_in_index_order() {
        let form = form_to_object(
            "keywords_attributes[10][keyword]=late&keywords_attributes[2][keyword]=early\
             &keywords_attributes[2][whole_word]=0&keywords_attributes[10][id]=5",
        );
        let got = inputs(form["keywords_attributes"].clone());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].keyword.as_deref(), Some("early"));
        assert_eq!(got[0].whole_word, Some(false));
        assert_eq!(got[1].keyword.as_deref(), Some("late"));
        assert_eq!(got[1].id, Some(5));
    }

    #[test]
    fn keywords_from_index_objects_and_bare_objects() {
        let got = inputs(json!({"1": {"keyword": "b"}, "0": {"keyword": "a"}}));
        assert_eq!(got[0].keyword.as_deref(), Some("a"));
        assert_eq!(got[1].keyword.as_deref(), Some("b"));
        let got = inputs(json!({"keyword": "only"}));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].keyword.as_deref(), Some("only"));
        assert!(keyword_inputs(json!("x")).is_err());
    }
}
