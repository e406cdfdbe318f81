//! The integration tests, one crate (one test binary, linked once): each
//! module is a former `tests/<name>.rs`, and its tests keep their names as
//! `<name>::<test>` (`cargo test --test it poll::` runs one module's).
//! `common` holds what they share; fixtures stay in `tests/fixtures/`,
//! golden files in `tests/golden/`.

mod common;

mod admin;
mod architecture;
mod check;
mod corpus;
mod daemon;
mod dedupe_cases;
mod demo;
mod display_time;
mod edit;
mod enclosures;
mod export;
mod feeds;
mod follow;
mod fulltext;
mod fulltext_admin;
mod golden;
mod hostile;
mod order_feeds;
mod order_props;
mod poll;
mod postgres;
mod properties;
mod reader_page;
mod readers;
mod readonly;
mod round3_fetch;
mod round3_html;
mod round3_http;
mod round3_ops;
mod round3_trust;
mod safety;
mod shape_props;
mod sources_set;
mod text_fallback;
mod text_shapes;
mod topics_edit;
