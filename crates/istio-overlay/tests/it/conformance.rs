//! The conformance table: each case is Istio's behaviour, with the Istio test or source it comes
//! from. Sources (istio/istio, operator/, releases 1.12 to 1.23):
//! - `patch_test`: pkg/patch/patch_test.go (`YAMLManifestPatch`: the object decoded by yaml.v2,
//!   values by jsonpb into structpb, exactly this crate's setting).
//! - `tree_test`: pkg/tpath/tree_test.go. Those tests decode the tree with sigs.k8s.io/yaml, so
//!   every map is a Go `map[string]interface{}`: the cases marked "inserted" first insert the
//!   tree with a patch to get that map type, as a patch-inserted subtree has it.
//! - `tree.go` / `path.go`: behaviour read from the source where no test pins it.

use istio_overlay::{Error, K8sObjectOverlay, Patch, apply_overlays, apply_patches_keep_going};
use serde_json::Value;

use crate::yaml;

type Check<'a> = Box<dyn Fn(&Result<(), istio_overlay::Errors>) -> bool + 'a>;

enum Want {
    /// The object after the patches.
    Yaml(&'static str),
    /// Istio's error message for the (first) failing patch, and the object after all patches.
    Istio(&'static str, &'static str),
    /// Our error (no Istio message: Istio panics or this is ours), and the object after.
    Ours(fn(&Error) -> bool, &'static str),
}

struct Case {
    name: &'static str,
    source: &'static str,
    base: &'static str,
    /// (path, value as YAML; None deletes)
    patches: &'static [(&'static str, Option<&'static str>)],
    want: Want,
}

const CITADEL: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-citadel, namespace: istio-system}
a:
  b:
  - name: n1
    value: v1
  - name: n2
    list: [v1, v2, v3_regex]
  c:
";

const GALLEY: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-citadel, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - name: deleteThis
        foo: bar
      - name: galley
        ports:
        - containerPort: 443
        - containerPort: 15014
        - containerPort: 9901
        command:
        - /usr/local/bin/galley
        - server
        - --meshConfigFile=/etc/mesh-config/mesh
        - --livenessProbeInterval=1s
        - --validation-webhook-config-file
";

/// `CITADEL` with `a` inserted by a patch (Go map[string]interface{}), as tree_test's trees.
const INSERT_A: (&str, Option<&str>) = (
    "a",
    Some("{b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}]}"),
);

fn cases() -> Vec<Case> {
    use Want::*;
    vec![
        // ---- patch_test.go TestPatchYAMLManifestSuccess
        Case {
            name: "ModifyListEntryValue",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.b.[name:n1].value", Some("v2"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v2}, {name: n2, list: [v1, v2, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "ModifyListEntry (value selector)",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list.[v2]", Some("v3"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v3, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "DeleteListEntry",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.b.[name:n1]", None)],
            want: Yaml("a: {b: [{name: n2, list: [v1, v2, v3_regex]}], c: null}"),
        },
        Case {
            name: "DeleteListEntryValue",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list.[v2]", None)],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "DeleteListEntryValueRegex (unanchored regex)",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list.[v3]", None)],
            want: Yaml("a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2]}], c: null}"),
        },
        Case {
            name: "UpdateNullNode",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.c", Some("{d: n3}"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], c: {d: n3}}",
            ),
        },
        Case {
            name: "AppendToListEntry ([N] = len appends)",
            source: "patch_test",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list.[3]", Some("v4"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex, v4]}], c: null}",
            ),
        },
        // ---- patch_test.go TestPatchYAMLManifestRealYAMLSuccess
        Case {
            name: "DeleteLeafListLeaf",
            source: "patch_test",
            base: GALLEY,
            patches: &[(
                "spec.template.spec.containers.[name:galley].command.[--validation-webhook-config-file]",
                None,
            )],
            want: Yaml(
                r#"spec: {template: {spec: {containers: [{name: deleteThis, foo: bar}, {name: galley,
                ports: [{containerPort: 443}, {containerPort: 15014}, {containerPort: 9901}],
                command: [/usr/local/bin/galley, server, "--meshConfigFile=/etc/mesh-config/mesh", "--livenessProbeInterval=1s"]}]}}}"#,
            ),
        },
        Case {
            name: "UpdateListItem",
            source: "patch_test",
            base: GALLEY,
            patches: &[(
                "spec.template.spec.containers.[name:galley].command.[--livenessProbeInterval]",
                Some("--livenessProbeInterval=1111s"),
            )],
            want: Yaml(
                r#"spec: {template: {spec: {containers: [{name: deleteThis, foo: bar}, {name: galley,
                ports: [{containerPort: 443}, {containerPort: 15014}, {containerPort: 9901}],
                command: [/usr/local/bin/galley, server, "--meshConfigFile=/etc/mesh-config/mesh", "--livenessProbeInterval=1111s", "--validation-webhook-config-file"]}]}}}"#,
            ),
        },
        Case {
            name: "UpdateLeaf ([containerPort:15014] matches a number)",
            source: "patch_test",
            base: GALLEY,
            patches: &[(
                "spec.template.spec.containers.[name:galley].ports.[containerPort:15014].containerPort",
                Some("22222"),
            )],
            want: Yaml(
                r#"spec: {template: {spec: {containers: [{name: deleteThis, foo: bar}, {name: galley,
                ports: [{containerPort: 443}, {containerPort: 22222}, {containerPort: 9901}],
                command: [/usr/local/bin/galley, server, "--meshConfigFile=/etc/mesh-config/mesh", "--livenessProbeInterval=1s", "--validation-webhook-config-file"]}]}}}"#,
            ),
        },
        Case {
            name: "DeleteLeafList",
            source: "patch_test",
            base: GALLEY,
            patches: &[(
                "spec.template.spec.containers.[name:galley].ports.[containerPort:9901]",
                None,
            )],
            want: Yaml(
                r#"spec: {template: {spec: {containers: [{name: deleteThis, foo: bar}, {name: galley,
                ports: [{containerPort: 443}, {containerPort: 15014}],
                command: [/usr/local/bin/galley, server, "--meshConfigFile=/etc/mesh-config/mesh", "--livenessProbeInterval=1s", "--validation-webhook-config-file"]}]}}}"#,
            ),
        },
        Case {
            name: "DeleteInternalNode",
            source: "patch_test",
            base: GALLEY,
            patches: &[("spec.template.spec.containers.[name:deleteThis]", None)],
            want: Yaml(
                r#"spec: {template: {spec: {containers: [{name: galley,
                ports: [{containerPort: 443}, {containerPort: 15014}, {containerPort: 9901}],
                command: [/usr/local/bin/galley, server, "--meshConfigFile=/etc/mesh-config/mesh", "--livenessProbeInterval=1s", "--validation-webhook-config-file"]}]}}}"#,
            ),
        },
        Case {
            name: "UpdateInteriorNode (element replaced, not merged)",
            source: "patch_test",
            base: GALLEY,
            patches: &[(
                "spec.template.spec.containers.[name:galley].ports.[containerPort:15014]",
                Some("{fooPort: 15015}"),
            )],
            want: Yaml(
                r#"spec: {template: {spec: {containers: [{name: deleteThis, foo: bar}, {name: galley,
                ports: [{containerPort: 443}, {fooPort: 15015}, {containerPort: 9901}],
                command: [/usr/local/bin/galley, server, "--meshConfigFile=/etc/mesh-config/mesh", "--livenessProbeInterval=1s", "--validation-webhook-config-file"]}]}}}"#,
            ),
        },
        // ---- tree_test.go TestWritePathContext
        Case {
            name: "ModifyNthListEntry",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b.[1].list.[:v2]", Some("v-the-second"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v-the-second, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "ModifyNthLeafListEntry",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b.[1].list.[2]", Some("v-the-third"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v-the-third]}], c: null}",
            ),
        },
        Case {
            name: "ModifyListEntryValueDotless (node[x] == node.[x])",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b[name:n1].value", Some("v2"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v2}, {name: n2, list: [v1, v2, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "DeleteListEntryIndex",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list.[1]", None)],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "DeleteListLeafEntryBogusIndex ([-200] is a regex, not an index)",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list.[-200]", None)],
            want: Istio(
                "path a.b.[name:n2].list.[-200]: element [-200] not found",
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "error key ([] on a list of maps)",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b.[].list", Some("x"))],
            want: Istio(
                "path a.b.[].list: [] is not a valid key:value path element",
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "AddMapEntry",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.new_key", Some("new_val"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], c: null, new_key: new_val}",
            ),
        },
        Case {
            name: "AddMapEntryMapValue, inserted map: the string's root key replaces the key",
            source: "tree_test",
            base: CITADEL,
            patches: &[
                INSERT_A,
                ("a.new_key", Some("\"new_key:\\n  nk1:\\n    nk2: nv2\"")),
            ],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], new_key: {nk1: {nk2: nv2}}}",
            ),
        },
        Case {
            name: "AddMapEntryMapValue, object map: the string becomes a map at the key",
            source: "tree.go setValueContext",
            base: CITADEL,
            patches: &[("a.new_key", Some("\"new_key:\\n  nk1:\\n    nk2: nv2\""))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], c: null, new_key: {new_key: {nk1: {nk2: nv2}}}}",
            ),
        },
        Case {
            name: "ModifyMapEntryMapValue, inserted map: b replaced by the root key nk1",
            source: "tree_test",
            base: CITADEL,
            patches: &[INSERT_A, ("a.b", Some("\"nk1:\\n  nk2: nv2\""))],
            want: Yaml("a: {nk1: {nk2: nv2}}"),
        },
        Case {
            name: "DeleteMapEntry",
            source: "tree_test",
            base: CITADEL,
            patches: &[("a.b", None)],
            want: Yaml("a: {c: null}"),
        },
        Case {
            name: "AddListEntry, inserted map: a scalar written to a list appends",
            source: "tree_test",
            base: CITADEL,
            patches: &[INSERT_A, ("a.b.[name:n2].list", Some("foo"))],
            want: Yaml(
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex, foo]}]}",
            ),
        },
        Case {
            name: "Same path on an object map: the list is replaced",
            source: "tree.go setValueContext",
            base: CITADEL,
            patches: &[("a.b.[name:n2].list", Some("foo"))],
            want: Yaml("a: {b: [{name: n1, value: v1}, {name: n2, list: foo}], c: null}"),
        },
        // ---- tree_test.go TestWriteNode
        Case {
            name: "list keys",
            source: "tree_test",
            base: "a: {b: {c: val1, list1: [{i1: val1}, {i2: val2}, {i3a: key1, i3b: {list2: [{i1: val1}, {i2: val2}, {i3a: key1, i3b: {i1: va11}}]}}]}}",
            patches: &[(
                "a.b.list1.[i3a:key1].i3b.list2.[i3a:key1].i3b.i1",
                Some("val2"),
            )],
            want: Yaml(
                "a: {b: {c: val1, list1: [{i1: val1}, {i2: val2}, {i3a: key1, i3b: {list2: [{i1: val1}, {i2: val2}, {i3a: key1, i3b: {i1: val2}}]}}]}}",
            ),
        },
        Case {
            name: "with initial list",
            source: "tree_test",
            base: "components: {ingressGateways: [{enabled: true}]}",
            patches: &[("components.ingressGateways[0].enabled", Some("\"false\""))],
            want: Yaml("components: {ingressGateways: [{enabled: \"false\"}]}"),
        },
        Case {
            name: "no initial list, object map: a map with a literal [0] key",
            source: "tree.go getPathContext",
            base: "kind: X",
            patches: &[("components.ingressGateways[0].enabled", Some("\"false\""))],
            want: Yaml("{kind: X, components: {ingressGateways: {\"[0]\": {enabled: \"false\"}}}}"),
        },
        Case {
            name: "no initial list, inserted map: a list is created",
            source: "tree_test",
            base: "kind: X",
            patches: &[
                ("x", Some("{}")),
                ("x.components.ingressGateways[0].enabled", Some("\"false\"")),
            ],
            want: Yaml("{kind: X, x: {components: {ingressGateways: [{enabled: \"false\"}]}}}"),
        },
        Case {
            name: "ExtendNthLeafListEntry",
            source: "tree_test",
            base: "a: {list: [v1]}",
            patches: &[("a.list.[1]", Some("v2"))],
            want: Yaml("a: {list: [v1, v2]}"),
        },
        Case {
            name: "ExtendLeafListEntryLargeIndex (no padding)",
            source: "tree_test",
            base: "a: {list: [v1]}",
            patches: &[("a.list.[999]", Some("v2"))],
            want: Yaml("a: {list: [v1, v2]}"),
        },
        Case {
            name: "ExtendLeafListEntryNegativeIndex",
            source: "tree_test",
            base: "a: {list: [v1]}",
            patches: &[("a.list.[-1]", Some("v2"))],
            want: Yaml("a: {list: [v1, v2]}"),
        },
        Case {
            name: "ExtendNthListEntry (append then descend)",
            source: "tree_test",
            base: "a: {list: [{name: foo}]}",
            patches: &[("a.list.[1].name", Some("bar"))],
            want: Yaml("a: {list: [{name: foo}, {name: bar}]}"),
        },
        Case {
            name: "append exactly once per patch",
            source: "tree.go getPathContext",
            base: "a: {list: [v1]}",
            patches: &[("a.list[5]", Some("v2")), ("a.list[5]", Some("v3"))],
            want: Yaml("a: {list: [v1, v2, v3]}"),
        },
        Case {
            name: "ModifyEscapedPathValue",
            source: "tree_test TestWriteEscapedPathContext",
            base: "values: {sidecarInjectorWebhook: {injectedAnnotations: {}}}",
            patches: &[(
                r"values.sidecarInjectorWebhook.injectedAnnotations.container\.apparmor\.security\.beta\.kubernetes\.io/istio-proxy",
                Some("runtime/default"),
            )],
            want: Yaml(
                "values: {sidecarInjectorWebhook: {injectedAnnotations: {container.apparmor.security.beta.kubernetes.io/istio-proxy: runtime/default}}}",
            ),
        },
        // ---- path.go PathFromString
        Case {
            name: "leading, trailing and doubled dots",
            source: "path.go PathFromString",
            base: "a: {b: 1}",
            patches: &[(".a..b.", Some("2"))],
            want: Yaml("a: {b: 2}"),
        },
        Case {
            name: "a/b/../c is cleaned",
            source: "path.go PathFromString (filepath.Clean)",
            base: "a: {x/c: 1}",
            patches: &[("a.x/b/../c", Some("2"))],
            want: Yaml("a: {x/c: 2}"),
        },
        Case {
            name: "escaped dot inside a selector",
            source: "path.go PathFromString",
            base: "l: [{name: a.b, v: 1}]",
            patches: &[(r"l.[name:a\.b].v", Some("2"))],
            want: Yaml("l: [{name: a.b, v: 2}]"),
        },
        Case {
            name: "escaped colon keeps its backslash (no match)",
            source: "path.go PathKV/splitEscaped",
            base: "l: [{name: \"a:b\"}]",
            patches: &[(r"l.[name:a\:b].v", Some("2"))],
            want: Istio(
                r"path l.[name:a\:b].v: element [name:a\:b] not found",
                "l: [{name: \"a:b\"}]",
            ),
        },
        Case {
            name: "empty path is skipped",
            source: "patch.go applyPatches",
            base: "a: 1",
            patches: &[("  ", Some("x"))],
            want: Yaml("a: 1"),
        },
        // ---- writing rules (tree.go)
        Case {
            name: "an existing node is replaced, never merged",
            source: "tree.go setValueContext",
            base: "spec: {strategy: {rollingUpdate: {maxSurge: 1}}}",
            patches: &[("spec.strategy", Some("{type: Recreate}"))],
            want: Yaml("spec: {strategy: {type: Recreate}}"),
        },
        Case {
            name: "null value deletes",
            source: "tree.go WritePathContext (IsValueNil)",
            base: "a: {b: 1, c: 2}",
            patches: &[("a.b", Some("null"))],
            want: Yaml("a: {c: 2}"),
        },
        Case {
            name: "missing keys created as maps",
            source: "tree.go getPathContext",
            base: "a: {}",
            patches: &[("a.b.c.d", Some("x"))],
            want: Yaml("a: {b: {c: {d: x}}}"),
        },
        Case {
            name: "deleting a missing path leaves the maps it created",
            source: "tree.go getPathContext + DeleteFromMap",
            base: "a: {}",
            patches: &[("a.b.c", None)],
            want: Yaml("a: {b: {}}"),
        },
        Case {
            name: "a null node on the way becomes a map",
            source: "tree.go getPathContext (nc.Node == nil)",
            base: "a: {c: null}",
            patches: &[("a.c.d", Some("x"))],
            want: Yaml("a: {c: {d: x}}"),
        },
        Case {
            name: "selectors never create",
            source: "tree.go getPathContext",
            base: "l: [{name: a}]",
            patches: &[("l.[name:b].v", Some("x"))],
            want: Istio(
                "path l.[name:b].v: element [name:b] not found",
                "l: [{name: a}]",
            ),
        },
        Case {
            name: "[-1] before more segments appends a new map",
            source: "tree.go getPathContext",
            base: "l: [{name: a}]",
            patches: &[("l[-1].name", Some("b"))],
            want: Yaml("l: [{name: a}, {name: b}]"),
        },
        Case {
            name: "[value] is an unanchored regex, first match wins",
            source: "tree.go matchesRegex",
            base: "l: [xv2y, v2]",
            patches: &[("l.[v2]", Some("z"))],
            want: Yaml("l: [z, v2]"),
        },
        Case {
            name: "[:^v2$] anchors",
            source: "tree.go matchesRegex",
            base: "l: [xv2y, v2]",
            patches: &[("l.[:^v2$]", Some("z"))],
            want: Yaml("l: [xv2y, z]"),
        },
        Case {
            name: "[key:value] compares the printed value (bool)",
            source: "tree.go stringsEqual",
            // Keys quoted: plain `on` and `n` are the booleans true and false in YAML 1.1.
            base: "l: [{'on': true, 'n': 1}]",
            patches: &[("l.[on:true].n", Some("2"))],
            want: Yaml("l: [{'on': true, 'n': 2}]"),
        },
        Case {
            name: "[key:<nil>] matches an element without the key",
            source: "tree.go stringsEqual (fmt.Sprint(nil))",
            base: "l: [{a: 1}, {b: 2}]",
            patches: &[("l.[b:<nil>].c", Some("3"))],
            want: Yaml("l: [{a: 1, c: 3}, {b: 2}]"),
        },
        Case {
            name: "keep-going: a failing patch does not stop the later ones",
            source: "patch.go applyPatches",
            base: "a: {b: x}",
            patches: &[("a.b.c", Some("1")), ("a.d", Some("2"))],
            want: Istio("leaf type string in non-leaf Node c", "a: {b: x, d: 2}"),
        },
        // ---- values as structpb types them
        Case {
            name: "a string holding key: value becomes a map",
            source: "tree.go tryToUnmarshalStringToYAML",
            base: "a: {}",
            patches: &[("a.b", Some("\"k: v\""))],
            want: Yaml("a: {b: {k: v}}"),
        },
        Case {
            name: "a JSON-object string stays a string",
            source: "tree.go tryToUnmarshalStringToYAML",
            base: "a: {}",
            patches: &[("a.b", Some(r#"'{"k": "v"}'"#))],
            want: Yaml(r#"a: {b: '{"k": "v"}'}"#),
        },
        Case {
            name: "host:port stays a string (no ': ')",
            source: "tree.go tryToUnmarshalStringToYAML",
            base: "a: {}",
            patches: &[("a.b", Some("cert-manager-istio-csr.cert-manager.svc:443"))],
            want: Yaml("a: {b: cert-manager-istio-csr.cert-manager.svc:443}"),
        },
        Case {
            name: "numbers are structpb floats: 1e6 and beyond stay floats",
            source: "structpb + yaml.v2 float formatting",
            base: "a: {}",
            patches: &[("a.small", Some("420")), ("a.big", Some("1000000"))],
            want: Yaml("a: {small: 420, big: 1000000.0}"),
        },
        // ---- errors
        Case {
            name: "leaf type in non-leaf node",
            source: "tree.go getPathContext",
            base: "metadata: {name: istiod}",
            patches: &[("metadata.name.foo", Some("x"))],
            want: Istio(
                "leaf type string in non-leaf Node foo",
                "metadata: {name: istiod}",
            ),
        },
        Case {
            name: "[value] on a list of maps",
            source: "tree.go getPathContext (PathKV)",
            base: CITADEL,
            patches: &[("a.b.[n1].value", Some("x"))],
            want: Istio(
                "path a.b.[n1].value: [n1] is not a valid key:value path element",
                "a: {b: [{name: n1, value: v1}, {name: n2, list: [v1, v2, v3_regex]}], c: null}",
            ),
        },
        Case {
            name: "plain key on a list of scalars",
            source: "tree.go getPathContext (PathV)",
            base: "l: [a]",
            patches: &[("l.foo", Some("x"))],
            want: Istio(
                "path l.foo: foo is not a valid value path element",
                "l: [a]",
            ),
        },
        Case {
            name: "a list inside a list cannot be written",
            source: "tree.go setValueContext",
            base: "m: {l: [[a]]}",
            patches: &[("m.l.[0].[0]", Some("x"))],
            want: Istio("don't know about type []interface {}", "m: {l: [[a]]}"),
        },
        Case {
            name: "[N] under a null node cannot be written",
            source: "tree.go getPathContext + setValueContext",
            base: "m: {l: null}",
            patches: &[("m.l.[0]", Some("x"))],
            want: Istio("don't know about type []interface {}", "m: {l: null}"),
        },
        Case {
            name: "delete the root",
            source: "tree.go WritePathContext",
            base: "a: 1",
            patches: &[(".", None)],
            want: Istio("cannot delete root element", "a: 1"),
        },
        Case {
            name: "delete past the end (Istio panics)",
            source: "util/reflect.go DeleteFromSlicePtr",
            base: "l: [a]",
            patches: &[("l.[5]", None)],
            want: Ours(
                |e| matches!(e, Error::DeleteBeyondEnd { len: 1, .. }),
                "l: [a]",
            ),
        },
    ]
}

fn value_of(v: &str) -> Value {
    yaml(v)
}

#[test]
fn conformance_table() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let mut obj = yaml(c.base);
        let patches: Vec<Patch> = c
            .patches
            .iter()
            .map(|(p, v)| Patch {
                path: (*p).into(),
                value: v.map(value_of),
            })
            .collect();
        let base = obj.clone();
        let result = apply_patches_keep_going(&mut obj, &patches);
        // The overlay loop knows the patches to come (and leaves unmarked what no later one can
        // reach): it must give the object and the errors the patch-by-patch engine gives.
        let (kind, name) = (base["kind"].as_str(), base["metadata"]["name"].as_str());
        if let (Some(kind), Some(name)) = (kind, name) {
            let mut looped = vec![base.clone()];
            let overlay = K8sObjectOverlay {
                patches: patches.clone(),
                ..K8sObjectOverlay::new(kind, name)
            };
            let errors = apply_overlays(&mut looped, &[overlay])
                .err()
                .map_or(0, |e| e.0.len());
            if looped[0] != obj || errors != result.as_ref().err().map_or(0, |e| e.0.len()) {
                failures.push(format!(
                    "{} [{}]: the overlay loop differs",
                    c.name, c.source
                ));
            }
        }
        let (want_obj, check): (&str, Check<'_>) = match &c.want {
            Want::Yaml(w) => (w, Box::new(|r| r.is_ok())),
            Want::Istio(msg, w) => (
                w,
                Box::new(move |r| match r {
                    Err(e) => e.0[0].istio_message() == Some(msg),
                    Ok(()) => false,
                }),
            ),
            Want::Ours(f, w) => (w, Box::new(move |r| matches!(r, Err(e) if f(&e.0[0])))),
        };
        // Compare only the keys the expectation names (bases carry apiVersion/kind/metadata).
        let want = yaml(want_obj);
        let got_sub: Value = match (&want, &obj) {
            (Value::Object(w), Value::Object(g)) => Value::Object(
                g.iter()
                    .filter(|(k, _)| {
                        w.contains_key(*k)
                            || !matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => obj.clone(),
        };
        if got_sub != want || !check(&result) {
            failures.push(format!(
                "{} [{}]: got {} / {:?}",
                c.name,
                c.source,
                serde_json::to_string(&got_sub).unwrap_or_default(),
                result.as_ref().err().map(|e| e
                    .0
                    .iter()
                    .map(|e| format!("{e} | istio: {:?}", e.istio_message()))
                    .collect::<Vec<_>>())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("conformance: {} cases pass", cases.len());
}
