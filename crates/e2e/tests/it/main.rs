//! The e2e integration tests: the real `e2e` binary against a real OpenBao (and, in `stack`,
//! the real local cluster). One test binary, so shared set-up runs once.

mod common;
mod doctor;
mod faults;
mod fleet;
mod fleet_mesh;
mod flow;
mod istio_ca;
mod istio_csr;
mod kubelet;
mod kubernetes_auth;
mod library;
mod operator_step;
mod probe;
mod robustness;
mod rotation;
mod rotation_fleet;
mod rotation_intermediate;
mod rotation_resume;
mod rotation_secret_id;
mod run;
mod vault_matrix;
