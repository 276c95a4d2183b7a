//! Plain text of a post to Mastodon-style HTML: links, mentions, hashtags.
