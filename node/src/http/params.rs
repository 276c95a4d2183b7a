//! Request parameters as Mastodon clients send them: JSON bodies, form bodies
//! and query strings, with Rails-style arrays (`types[]=a&types[]=b`) and
//! strings where JSON would have booleans or numbers.
//!
//! Everything is first turned into a `serde_json::Value` object, then into the
//! handler's struct; the [`de`] helpers accept `"true"`, `"1"`, `true` alike.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The largest body the client API reads (statuses are small; media has its
/// own limits when it comes).
const BODY_LIMIT: usize = 1024 * 1024;

/// Parameters from the body (JSON or form), merged over the query string.
#[derive(Debug)]
pub struct Params<T>(pub T);

/// Parameters from the query string only.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mut object = form_to_object(req.uri().query().unwrap_or_default());
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("cannot read the body: {e}")))?;
        if bytes.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge);
        }
        if is_json {
            if !bytes.is_empty() {
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(Value::Object(body)) => object.extend(body),
                    Ok(_) => {
                        return Err(ApiError::BadRequest(
                            "the JSON body must be an object".into(),
                        ));
                    }
                    Err(e) => return Err(ApiError::BadRequest(format!("invalid JSON: {e}"))),
                }
            }
        } else {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
            object.extend(form_to_object(text));
        }
        from_object(object).map(Params)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        from_object(form_to_object(parts.uri.query().unwrap_or_default())).map(QueryParams)
    }
}

fn from_object<T: DeserializeOwned>(object: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::Unprocessable(format!("Validation failed: {e}")))
}

/// `a=1&b[]=x&b[]=y&c[d]=z` → `{"a":"1","b":["x","y"],"c":{"d":"z"}}`.
/// A key repeated without brackets also becomes an array.
pub fn form_to_object(input: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in url::form_urlencoded::parse(input.as_bytes()) {
        let value = Value::String(value.into_owned());
        if let Some(name) = key.strip_suffix("[]") {
            push(&mut out, name, value, true);
        } else if let Some((name, rest)) = key.split_once('[') {
            // One level of nesting, e.g. `fields_attributes[0][name]` keeps the
            // rest of the key as written under the outer name.
            let inner = rest.trim_end_matches(']').replace("][", ".");
            let entry = out
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = entry {
                map.insert(inner, value);
            }
        } else {
            push(&mut out, &key, value, false);
        }
    }
    out
}

fn push(out: &mut Map<String, Value>, key: &str, value: Value, array: bool) {
    match out.get_mut(key) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None if array => {
            out.insert(key.to_owned(), Value::Array(vec![value]));
        }
        None => {
            out.insert(key.to_owned(), value);
        }
    }
}

/// Lenient deserializers for parameters that arrive as strings.
pub mod de {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn truthy(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_i64() != Some(0)),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" | "t" => Some(true),
                "false" | "0" | "off" | "no" | "f" | "" => Some(false),
                _ => None,
            },
            Value::Null => None,
            _ => None,
        }
    }

    /// An optional boolean given as `true`, `"true"`, `"1"`, `1`…
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(None);
        }
        truthy(&v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{v} is not a boolean")))
    }

    /// A boolean defaulting to false.
    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_bool(d)?.unwrap_or(false))
    }

    /// An optional integer given as a number or a numeric string.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("not an integer")),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an integer"))),
            other => Err(serde::de::Error::custom(format!(
                "{other} is not an integer"
            ))),
        }
    }

    /// An optional id (Mastodon ids are strings of digits; numbers accepted too).
    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_i64(d)
    }

    /// One string or several: `"a"`, `["a","b"]`, or `"a b"` split on spaces
    /// when `split` is wanted by the caller (see [`words`]).
    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Vec::new(),
            Value::String(s) => vec![s],
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Value::Number(n) => vec![n.to_string()],
            other => return Err(serde::de::Error::custom(format!("{other} is not a string"))),
        })
    }

    /// Ids given as a list (`id[]=1&id[]=2`, `["1","2"]`) or one value.
    pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        strings(d)?
            .iter()
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an id")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_style_arrays_and_repeats() {
        let o = form_to_object("a=1&b%5B%5D=x&b[]=y&c=2&c=3&scope=read+write&f[0][name]=n");
        assert_eq!(o["a"], "1");
        assert_eq!(o["b"], serde_json::json!(["x", "y"]));
        assert_eq!(o["c"], serde_json::json!(["2", "3"]));
        assert_eq!(o["scope"], "read write");
        assert_eq!(o["f"]["0.name"], "n");
    }
}
