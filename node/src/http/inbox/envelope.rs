//! The two fields the inbox reads before storing an activity (`id` and
//! `actor`), borrowed from the body: the rest is skipped, not built into a
//! `serde_json::Value` only to be dropped (the worker parses it later).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `id` and `actor` of an activity.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// The activity's id; None when absent or null. Not a string: refused.
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    /// The actor's id, given as a string or as an object with an `id`;
    /// empty for anything else (which then matches no key owner).
    #[serde(borrow, default)]
    pub actor: ActorId<'a>,
}

impl<'a> Envelope<'a> {
    /// Reads a JSON object's `id` and `actor`; None when `body` is not a JSON
    /// object (an array would otherwise fill the fields by position), has a
    /// non-string `id`, or names a field twice.
    pub fn parse(body: &'a str) -> Option<Envelope<'a>> {
        if !body.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(body).ok()
    }
}

/// A JSON string, borrowed unless it had escapes.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// `actor` as the inbox reads it: a string, or an object's string `id`
/// (the last one, as `serde_json::Value` would keep); anything else is "".
#[derive(Debug, Default)]
pub struct ActorId<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for ActorId<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient { in_object: false })
    }
}

/// Takes a string; inside `actor`'s object, only a string `id`.
struct Lenient {
    in_object: bool,
}

impl Lenient {
    fn nothing<'de>() -> ActorId<'de> {
        ActorId(Cow::Borrowed(""))
    }
}

impl<'de> Visitor<'de> for Lenient {
    type Value = ActorId<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an actor id or an object with one")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ActorId(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ActorId(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Self::nothing())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Self::nothing())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Self::nothing())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Self::nothing())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::nothing())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::nothing())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = Self::nothing();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if !self.in_object && key.0 == "id" {
                id = map.next_value_seed(Lenient { in_object: true })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        // An object inside `actor`'s `id` is not an id.
        Ok(if self.in_object { Self::nothing() } else { id })
    }
}

impl<'de> de::DeserializeSeed<'de> for Lenient {
    type Value = ActorId<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Option<(Option<String>, String)> {
        let e = Envelope::parse(body)?;
        Some((e.id.map(|t| t.0.into_owned()), e.actor.0.into_owned()))
    }

    #[test]
    fn reads_what_a_value_would() {
        let s = |x: &str| x.to_owned();
        assert_eq!(
            read(r#"{"id":"https://a/1","actor":"https://a/u","object":{"id":"x","actor":"y"}}"#),
            Some((Some(s("https://a/1")), s("https://a/u")))
        );
        assert_eq!(
            read(
                r#" {"actor":{"type":"Person","id":"https://a/u","name":"x"},"id":"https://a/\u0031"}"#
            ),
            Some((Some(s("https://a/1")), s("https://a/u")))
        );
        // Whatever is not a string (or an object's string id) is no actor.
        for actor in [
            "5",
            "null",
            "true",
            "[\"https://a/u\"]",
            "{\"id\":5}",
            "{\"id\":{\"id\":\"https://a/u\"}}",
            "{}",
        ] {
            assert_eq!(
                read(&format!(r#"{{"id":"https://a/1","actor":{actor}}}"#)),
                Some((Some(s("https://a/1")), s(""))),
                "{actor}"
            );
        }
        assert_eq!(
            read(r#"{"actor":"https://a/u"}"#),
            Some((None, s("https://a/u")))
        );
        assert_eq!(read(r#"{"id":null,"actor":"u"}"#), Some((None, s("u"))));
    }

    #[test]
    fn refuses_what_is_not_one_object_with_a_string_id() {
        for body in [
            r#"["https://a/1","https://a/u"]"#,
            r#""x""#,
            r#"{"id":5,"actor":"u"}"#,
            r#"{"id":"https://a/1","id":"https://b/1","actor":"u"}"#,
            r#"{"id":"https://a/1","actor":"u"} trailing"#,
            r#"{"id":"https://a/1","actor":"u""#,
            "",
        ] {
            assert!(read(body).is_none(), "{body}");
        }
    }
}
