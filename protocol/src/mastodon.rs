//! Mastodon client API entities, exactly as Mastodon documents them.
