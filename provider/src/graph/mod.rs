//! Microsoft Graph client: authentication, retries, paging, batching, consistency waits.
//! Knows nothing of Terraform.
//!
//! - [`client`]: `GraphClient`, one request with auth, pacing, retries, logging.
//! - [`auth`]: credentials and the token cache; [`certificate`]: the client certificate (PKCS#12
//!   or PEM); [`transport`]: the reqwest/rustls stack.
//! - [`paging`], [`batch`]: collections and `$batch`; [`odata`]: query strings.
//! - [`retry`], [`ratelimit`], [`consistency`]: when to retry, Intune write pacing, waiting out
//!   eventual consistency. [`cx`]: per-call cancellation and deadline. [`error`]: the error type.
//!
//! - [`coalesce`]: concurrent GETs combined into one `$batch` (`get_json_coalesced`).

pub mod auth;
pub mod batch;
pub mod certificate;
pub mod client;
pub mod coalesce;
pub mod config;
pub mod consistency;
pub mod cx;
pub mod error;
pub mod odata;
pub mod paging;
pub mod ratelimit;
pub mod retry;
pub mod transport;

pub use batch::{BatchRequest, BatchResponse};
pub use client::{Api, GraphClient, GraphRequest, Response, Tuning};
pub use cx::CallCx;
pub use error::{Error, ErrorKind};
pub use reqwest::Method;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tls;
