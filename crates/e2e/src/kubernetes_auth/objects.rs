//! The objects `--auth kubernetes` applies to the cluster: the Issuer's service account, the
//! Role and RoleBinding that let cert-manager request its tokens, and the token reviewer with
//! its `system:auth-delegator` binding.

use certmanager_types::seed;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::{AUTH_DELEGATOR, REVIEWER_SERVICE_ACCOUNT, reviewer_binding_name, token_role_name};
use crate::error::Cause;

pub(super) fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        // A field for e2e's apply to own (an apply owning none would rewrite the object).
        labels: Some(
            [(
                "app.kubernetes.io/managed-by".to_string(),
                crate::kube::FIELD_MANAGER.to_string(),
            )]
            .into(),
        ),
        ..ObjectMeta::default()
    }
}

/// The cluster's objects, in the order they are applied, each with its step name.
pub fn objects(namespace: &str) -> std::result::Result<Vec<(&'static str, Value)>, Cause> {
    let issuer_sa = ServiceAccount {
        metadata: meta(seed::ISSUER_SERVICE_ACCOUNT, Some(namespace)),
        ..ServiceAccount::default()
    };
    let role = Role {
        metadata: meta(&token_role_name(), Some(namespace)),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["serviceaccounts/token".into()]),
            resource_names: Some(vec![seed::ISSUER_SERVICE_ACCOUNT.into()]),
            verbs: vec!["create".into()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta(&token_role_name(), Some(namespace)),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: token_role_name(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: seed::CERT_MANAGER_SERVICE_ACCOUNT.into(),
            namespace: Some(seed::CERT_MANAGER_NAMESPACE.into()),
            ..Subject::default()
        }]),
    };
    let reviewer = ServiceAccount {
        metadata: meta(REVIEWER_SERVICE_ACCOUNT, Some(namespace)),
        ..ServiceAccount::default()
    };
    let delegator = ClusterRoleBinding {
        metadata: meta(&reviewer_binding_name(namespace), None),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: AUTH_DELEGATOR.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: REVIEWER_SERVICE_ACCOUNT.into(),
            namespace: Some(namespace.into()),
            ..Subject::default()
        }]),
    };
    use crate::manifests::to_value;
    Ok(vec![
        (
            "Issuer ServiceAccount",
            to_value("ServiceAccount", &issuer_sa)?,
        ),
        ("Issuer token Role", to_value("Role", &role)?),
        (
            "Issuer token RoleBinding",
            to_value("RoleBinding", &binding)?,
        ),
        (
            "reviewer ServiceAccount",
            to_value("ServiceAccount", &reviewer)?,
        ),
        (
            "reviewer ClusterRoleBinding",
            to_value("ClusterRoleBinding", &delegator)?,
        ),
    ])
}
