//! Integration tests against a real OpenBao (`bao server -dev`), one shared server for this
//! test binary (distinct mounts per test); the fault tests (seal, kill) start their own.

mod common;
mod errors;
mod faults;
mod ha;
mod issuers;
mod kubernetes_auth;
mod lock;
mod lost_answer;
mod matrix;
mod setup;
mod signing;
mod tls;
