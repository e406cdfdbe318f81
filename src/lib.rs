//! newsriver: many outlets' feeds in, a few merged topical feeds out.
//!
//! Data flows one way, one module per stage:
//! `config` → `fetch` → `decode` → `parse` → `normalize` → `store` → `topics`,
//! composed by `pipeline`, with `cli` at the edge. See ARCHITECTURE.md.
#![forbid(unsafe_code)]

pub mod admin;
pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod dedupe;
pub mod demo;
pub mod discover;
pub mod display;
pub mod edit;
pub mod fetch;
pub mod fulltext;
pub mod html;
pub mod http;
pub mod model;
pub mod normalize;
pub mod opml_io;
pub mod page;
pub mod parse;
pub mod pipeline;
pub mod printable;
pub mod progress;
pub mod publish;
pub mod query;
pub mod schedule;
pub mod script;
pub mod store;
pub mod text;
pub mod topics;
pub mod wording;

#[cfg(test)]
mod test_strings;
