//! Content filters (API v2): the rules for creating and changing them, and
//! [`apply`], which hides or flags the statuses of a page for one viewer.
//!
//! Matching follows Mastodon: a keyword is looked for, case-insensitively, in
//! the content warning and the plain text of a status (and of the status it
//! boosts); a whole-word keyword must not touch a word character at an end
//! that is itself a word character. The viewer's own posts are never filtered.

use starling_protocol::datetime::iso8601_millis;
use starling_protocol::mastodon::{
    Filter, FilterAction, FilterContext, FilterKeyword, FilterResult, Status,
};

use crate::app::App;
use crate::error::Internal;
use crate::store::filters::{DbFilter, DbFilterKeyword, KeywordChanges};
use crate::store::{StoreError, now_ms};

/// The contexts a filter may name.
pub const CONTEXTS: &[&str] = &["home", "notifications", "public", "thread", "account"];

/// Why a filter operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// No such filter or keyword among the owner's.
    #[error("Record not found")]
    NotFound,
    /// The input breaks a rule; the text says which.
    #[error("Validation failed: {0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl From<StoreError> for FilterError {
    fn from(e: StoreError) -> Self {
        FilterError::Internal(Internal::Store(e))
    }
}

/// A filter's fields as a client sent them; `None` leaves a field unchanged
/// (on update) or takes the default (on create).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput {
    /// Name.
    pub title: Option<String>,
    /// Contexts.
    pub context: Option<Vec<String>>,
    /// `warn`, `hide` or `blur`.
    pub action: Option<String>,
    /// `Some(None)`: never expires; `Some(Some(s))`: expires in `s` seconds.
    pub expires_in: Option<Option<i64>>,
    /// Keywords to add, change or delete.
    pub keywords: Vec<KeywordInput>,
}

/// One entry of `keywords_attributes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeywordInput {
    /// An existing keyword's id (update or delete); None adds one.
    pub id: Option<i64>,
    /// The phrase.
    pub keyword: Option<String>,
    /// Whole-word matching (default true, as Mastodon).
    pub whole_word: Option<bool>,
    /// `_destroy`: delete the keyword with `id`.
    pub destroy: bool,
}

fn valid_title(title: &str) -> Result<String, FilterError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(FilterError::Invalid("Title can't be blank".into()));
    }
    Ok(title.to_owned())
}

fn valid_context(context: &[String]) -> Result<Vec<String>, FilterError> {
    let mut out: Vec<String> = Vec::new();
    for c in context.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        if !CONTEXTS.contains(&c) {
            return Err(FilterError::Invalid(format!(
                "Context {c:?} is not one of {}",
                CONTEXTS.join(", ")
            )));
        }
        if !out.iter().any(|x| x == c) {
            out.push(c.to_owned());
        }
    }
    if out.is_empty() {
        return Err(FilterError::Invalid("Context can't be blank".into()));
    }
    Ok(out)
}

fn valid_action(action: &str) -> Result<String, FilterError> {
    match action {
        "warn" | "hide" | "blur" => Ok(action.to_owned()),
        other => Err(FilterError::Invalid(format!(
            "Filter action {other:?} is not one of warn, hide, blur"
        ))),
    }
}

fn valid_keyword(keyword: &str) -> Result<String, FilterError> {
    let keyword = keyword.trim();
    if keyword.is_empty() {
        return Err(FilterError::Invalid("Keyword can't be blank".into()));
    }
    Ok(keyword.to_owned())
}

fn expiry(expires_in: Option<i64>) -> Result<Option<i64>, FilterError> {
    match expires_in {
        None => Ok(None),
        Some(s) if s < 0 => Err(FilterError::Invalid(
            "Expires in must not be negative".into(),
        )),
        Some(s) => Ok(Some(now_ms().saturating_add(s.saturating_mul(1000)))),
    }
}

/// The Filter entity, with its keywords (and no filtered statuses: Starling
/// keeps none).
pub fn filter_entity(f: &DbFilter, keywords: &[DbFilterKeyword]) -> Filter {
    Filter {
        keywords: Some(keywords.iter().map(keyword_entity).collect()),
        statuses: Some(Vec::new()),
        ..bare_entity(f)
    }
}

/// The Filter entity as `Status.filtered` carries it: no keywords, no statuses.
fn bare_entity(f: &DbFilter) -> Filter {
    Filter {
        id: f.id.to_string(),
        title: f.title.clone(),
        context: f
            .context
            .iter()
            .map(|c| {
                serde_json::from_value(serde_json::Value::String(c.clone()))
                    .unwrap_or(FilterContext::Unknown)
            })
            .collect(),
        expires_at: f.expires_at.map(iso8601_millis),
        filter_action: match f.action.as_str() {
            "hide" => FilterAction::Hide,
            "blur" => FilterAction::Blur,
            _ => FilterAction::Warn,
        },
        keywords: None,
        statuses: None,
    }
}

/// The FilterKeyword entity.
pub fn keyword_entity(k: &DbFilterKeyword) -> FilterKeyword {
    FilterKeyword {
        id: k.id.to_string(),
        keyword: k.keyword.clone(),
        whole_word: k.whole_word,
    }
}

/// All of an account's filters (expired ones too, as Mastodon lists them).
pub async fn list(app: &App, owner: i64) -> Result<Vec<Filter>, FilterError> {
    let filters = app.store().filters_of(owner, None).await?;
    with_keywords(app, &filters).await
}

async fn with_keywords(app: &App, filters: &[DbFilter]) -> Result<Vec<Filter>, FilterError> {
    let ids: Vec<i64> = filters.iter().map(|f| f.id).collect();
    let keywords = app.store().filter_keywords(&ids).await?;
    Ok(filters
        .iter()
        .map(|f| filter_entity(f, keywords.get(&f.id).map_or(&[], Vec::as_slice)))
        .collect())
}

async fn owned(app: &App, owner: i64, id: i64) -> Result<DbFilter, FilterError> {
    app.store()
        .filter(owner, id)
        .await?
        .ok_or(FilterError::NotFound)
}

/// One of the owner's filters.
pub async fn get(app: &App, owner: i64, id: i64) -> Result<Filter, FilterError> {
    let f = owned(app, owner, id).await?;
    let keywords = app.store().filter_keywords(&[id]).await?.remove(&id);
    Ok(filter_entity(&f, keywords.as_deref().unwrap_or_default()))
}

/// Creates a filter: a title and at least one context are required.
pub async fn create(app: &App, owner: i64, input: FilterInput) -> Result<Filter, FilterError> {
    let filter = DbFilter {
        id: app.ids().next(),
        account_id: owner,
        title: valid_title(input.title.as_deref().unwrap_or_default())?,
        context: valid_context(input.context.as_deref().unwrap_or_default())?,
        action: valid_action(input.action.as_deref().unwrap_or("warn"))?,
        expires_at: expiry(input.expires_in.flatten())?,
        created_at: now_ms(),
    };
    let mut keywords = Vec::new();
    for k in input.keywords.iter().filter(|k| !k.destroy) {
        keywords.push(DbFilterKeyword {
            id: app.ids().next(),
            filter_id: filter.id,
            keyword: valid_keyword(k.keyword.as_deref().unwrap_or_default())?,
            whole_word: k.whole_word.unwrap_or(true),
        });
    }
    app.store().insert_filter(&filter, &keywords).await?;
    changed(app, owner).await;
    Ok(filter_entity(&filter, &keywords))
}

/// Changes a filter's fields and keywords (add; change or `_destroy` by id).
pub async fn update(
    app: &App,
    owner: i64,
    id: i64,
    input: FilterInput,
) -> Result<Filter, FilterError> {
    let mut filter = owned(app, owner, id).await?;
    if let Some(title) = &input.title {
        filter.title = valid_title(title)?;
    }
    if let Some(context) = &input.context {
        filter.context = valid_context(context)?;
    }
    if let Some(action) = &input.action {
        filter.action = valid_action(action)?;
    }
    if let Some(expires_in) = input.expires_in {
        filter.expires_at = expiry(expires_in)?;
    }
    let existing = app
        .store()
        .filter_keywords(&[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let mut changes = KeywordChanges::default();
    for k in &input.keywords {
        match k.id {
            None if k.destroy => {}
            None => changes.add.push(DbFilterKeyword {
                id: app.ids().next(),
                filter_id: id,
                keyword: valid_keyword(k.keyword.as_deref().unwrap_or_default())?,
                whole_word: k.whole_word.unwrap_or(true),
            }),
            Some(kid) => {
                let old = existing
                    .iter()
                    .find(|e| e.id == kid)
                    .ok_or(FilterError::NotFound)?;
                if k.destroy {
                    changes.delete.push(kid);
                } else {
                    changes.update.push(DbFilterKeyword {
                        keyword: match &k.keyword {
                            Some(text) => valid_keyword(text)?,
                            None => old.keyword.clone(),
                        },
                        whole_word: k.whole_word.unwrap_or(old.whole_word),
                        ..old.clone()
                    });
                }
            }
        }
    }
    if !app.store().update_filter(&filter, &changes).await? {
        return Err(FilterError::NotFound);
    }
    changed(app, owner).await;
    get(app, owner, id).await
}

/// Deletes one of the owner's filters.
pub async fn delete(app: &App, owner: i64, id: i64) -> Result<(), FilterError> {
    if app.store().delete_filter(owner, id).await? {
        changed(app, owner).await;
        Ok(())
    } else {
        Err(FilterError::NotFound)
    }
}

/// The keywords of one of the owner's filters.
pub async fn keywords(app: &App, owner: i64, id: i64) -> Result<Vec<FilterKeyword>, FilterError> {
    owned(app, owner, id).await?;
    let mut map = app.store().filter_keywords(&[id]).await?;
    Ok(map
        .remove(&id)
        .unwrap_or_default()
        .iter()
        .map(keyword_entity)
        .collect())
}

/// Adds a keyword to one of the owner's filters.
pub async fn add_keyword(
    app: &App,
    owner: i64,
    filter_id: i64,
    keyword: &str,
    whole_word: Option<bool>,
) -> Result<FilterKeyword, FilterError> {
    owned(app, owner, filter_id).await?;
    let k = DbFilterKeyword {
        id: app.ids().next(),
        filter_id,
        keyword: valid_keyword(keyword)?,
        whole_word: whole_word.unwrap_or(true),
    };
    app.store().insert_filter_keyword(&k).await?;
    changed(app, owner).await;
    Ok(keyword_entity(&k))
}

async fn owned_keyword(app: &App, owner: i64, id: i64) -> Result<DbFilterKeyword, FilterError> {
    app.store()
        .filter_keyword(owner, id)
        .await?
        .ok_or(FilterError::NotFound)
}

/// One keyword of the owner's filters.
pub async fn get_keyword(app: &App, owner: i64, id: i64) -> Result<FilterKeyword, FilterError> {
    Ok(keyword_entity(&owned_keyword(app, owner, id).await?))
}

/// Changes a keyword's text or option.
pub async fn update_keyword(
    app: &App,
    owner: i64,
    id: i64,
    keyword: Option<&str>,
    whole_word: Option<bool>,
) -> Result<FilterKeyword, FilterError> {
    let mut k = owned_keyword(app, owner, id).await?;
    if let Some(text) = keyword {
        k.keyword = valid_keyword(text)?;
    }
    if let Some(w) = whole_word {
        k.whole_word = w;
    }
    app.store().update_filter_keyword(&k).await?;
    changed(app, owner).await;
    Ok(keyword_entity(&k))
}

/// Deletes a keyword.
pub async fn delete_keyword(app: &App, owner: i64, id: i64) -> Result<(), FilterError> {
    let k = owned_keyword(app, owner, id).await?;
    app.store().delete_filter_keyword(k.id).await?;
    changed(app, owner).await;
    Ok(())
}

/// Tells the owner's open `user` streams (`filters_changed`).
async fn changed(app: &App, owner: i64) {
    crate::stream::publish(app, crate::stream::Event::FiltersChanged { account: owner }).await;
}

/// Applies `viewer`'s unexpired filters for `context` to a page of statuses:
/// removes those a `hide` filter matches and sets `filtered` on those other
/// filters match (on the boost and on the boosted status alike).
pub async fn apply(
    app: &App,
    viewer: i64,
    context: &str,
    statuses: &mut Vec<Status>,
) -> Result<(), Internal> {
    if statuses.is_empty() {
        return Ok(());
    }
    let filters: Vec<DbFilter> = app
        .store()
        .filters_of(viewer, Some(now_ms()))
        .await?
        .into_iter()
        .filter(|f| f.context.iter().any(|c| c == context))
        .collect();
    if filters.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = filters.iter().map(|f| f.id).collect();
    let mut keywords = app.store().filter_keywords(&ids).await?;
    let active: Vec<(Filter, Vec<DbFilterKeyword>)> = filters
        .iter()
        .map(|f| (bare_entity(f), keywords.remove(&f.id).unwrap_or_default()))
        .collect();
    let viewer = viewer.to_string();
    statuses.retain_mut(|status| {
        let proper = status.reblog.as_deref().unwrap_or(status);
        if proper.account.id == viewer {
            return true;
        }
        let text = searchable_text(status);
        let mut results = Vec::new();
        for (filter, keywords) in &active {
            let matched: Vec<String> = keywords
                .iter()
                .filter(|k| keyword_matches(&text, &k.keyword, k.whole_word))
                .map(|k| k.keyword.clone())
                .collect();
            if matched.is_empty() {
                continue;
            }
            if filter.filter_action == FilterAction::Hide {
                return false;
            }
            results.push(FilterResult {
                filter: filter.clone(),
                keyword_matches: Some(matched),
                status_matches: None,
            });
        }
        if !results.is_empty() {
            if let Some(inner) = status.reblog.as_deref_mut() {
                inner.filtered = Some(results.clone());
            }
            status.filtered = Some(results);
        }
        true
    });
    Ok(())
}

/// Content warning and plain text of a status and of the status it boosts,
/// lowercased for matching.
fn searchable_text(status: &Status) -> String {
    let mut text = String::new();
    for s in std::iter::once(status).chain(status.reblog.as_deref()) {
        text.push_str(&s.spoiler_text);
        text.push_str("\n\n");
        text.push_str(&plain_text(&s.content));
        text.push_str("\n\n");
    }
    text.to_lowercase()
}

/// The text of status HTML: tags dropped (line and paragraph breaks become
/// newlines, so words on either side stay apart) and entities decoded.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            // An unclosed `<` is text.
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim_start_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(name.as_str(), "br" | "p" | "div" | "li") {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    decode_entities(&out)
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&n| n <= 10).and_then(|n| {
            let name = &after[..n];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, n))
        });
        match decoded {
            Some((c, n)) => {
                out.push(c);
                rest = &after[n + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `keyword` occurs in `text` (already lowercased), ignoring case. A
/// whole-word keyword needs a word boundary at each end that starts or ends
/// with a word character, as Mastodon's `\b` regex does.
pub fn keyword_matches(text: &str, keyword: &str, whole_word: bool) -> bool {
    let needle = keyword.trim().to_lowercase();
    if needle.is_empty() {
        return false;
    }
    if !whole_word {
        return text.contains(&needle);
    }
    let check_start = needle.chars().next().is_some_and(is_word_char);
    let check_end = needle.chars().next_back().is_some_and(is_word_char);
    text.match_indices(&needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        (!check_start || !before.is_some_and(is_word_char))
            && (!check_end || !after.is_some_and(is_word_char))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(html: &str, keyword: &str, whole_word: bool) -> bool {
        keyword_matches(&plain_text(html).to_lowercase(), keyword, whole_word)
    }

    #[test]
    fn whole_words_need_boundaries() {
        assert!(m("<p>I love Rust!</p>", "rust", true));
        assert!(m("<p>RUST</p>", "Rust", true));
        assert!(!m("<p>Rusty nails</p>", "rust", true));
        assert!(!m("<p>trust me</p>", "rust", true));
        assert!(m("<p>trust me</p>", "rust", false));
        assert!(m("<p>x rust_y</p>", "rust", false));
        assert!(!m("<p>x rust_y</p>", "rust", true));
        // Non-ASCII letters are word characters too.
        assert!(!m("<p>rustä</p>", "rust", true));
        assert!(m("<p>Ärger heute</p>", "ärger", true));
    }

    #[test]
    fn boundaries_only_at_word_ends_of_the_keyword() {
        // `#rust` starts with a non-word character: no boundary needed before.
        assert!(m("<p>a#rust b</p>", "#rust", true));
        assert!(!m("<p>#rustacean</p>", "#rust", true));
        assert!(m("<p>it's c++ again</p>", "c++", true));
        assert!(m("<p>two words here</p>", "two words", true));
    }

    #[test]
    fn html_is_text_not_markup() {
        // Paragraphs and line breaks separate words.
        assert!(m("<p>spoiler</p><p>alert</p>", "alert", true));
        assert!(m("a<br>spoilers<br/>b", "spoilers", true));
        // Tags are not text, links keep their visible text.
        assert!(!m("<p class=\"spoiler\">hi</p>", "spoiler", false));
        assert!(m(
            "<a href=\"https://x.example/\"><span>https://</span><span>x.example</span></a>",
            "https://x.example",
            true
        ));
        assert!(m("<p>fish &amp; chips</p>", "fish & chips", true));
        assert!(m("<p>&lt;tag&gt; &#39;q&#x27;</p>", "'q'", true));
        assert!(!m("<p>anything</p>", "  ", false));
    }

    #[test]
    fn plain_text_keeps_stray_angle_brackets_and_ampersands() {
        assert_eq!(plain_text("a < b & c"), "a < b & c");
        assert_eq!(plain_text("<b>x</b>&unknown;"), "x&unknown;");
    }

    #[test]
    fn validation() {
        assert!(valid_context(&[]).is_err());
        assert!(valid_context(&["home".into(), "nowhere".into()]).is_err());
        assert_eq!(
            valid_context(&["home".into(), "home".into(), "public".into()]).ok(),
            Some(vec!["home".to_owned(), "public".to_owned()])
        );
        assert!(valid_title("  ").is_err());
        assert!(valid_action("drop").is_err());
        assert!(expiry(Some(-1)).is_err());
    }
}
