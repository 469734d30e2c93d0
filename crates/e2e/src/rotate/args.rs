//! The rotations' options from `e2e rotate`'s arguments (the new root's files read here).

use vault_pki::SecretString;

use crate::args::read;
use crate::error::Result;

impl crate::rotate::RootOptions {
    /// `e2e rotate root`'s options from its arguments (the new root's files read here).
    pub fn from_args(a: &crate::cli::RotateRootArgs) -> Result<Self> {
        let new_root = match (&a.new_root_ca_cert, &a.new_root_ca_key) {
            (Some(c), Some(k)) => Some((
                read(c, "--new-root-ca-cert")?,
                SecretString::new(read(k, "--new-root-ca-key")?),
            )),
            _ => None,
        };
        Ok(Self {
            new_root,
            until: a.until,
            plan: a.plan,
            workload_bound: a.workload_cert_bound.0,
            wait: a.wait,
        })
    }
}

impl crate::rotate::IntermediateOptions {
    /// `e2e rotate intermediate`'s options from its arguments.
    pub fn from_args(a: &crate::cli::RotateIntermediateArgs) -> Self {
        Self {
            if_expiring_within: a.if_expiring_within.map(|d| d.0),
            retire_old: a.retire_old,
        }
    }
}
