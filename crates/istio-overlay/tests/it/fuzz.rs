//! Property tests (proptest): no input makes the parser, the engine, explain or lint panic,
//! and explain's RFC 6902 operations always reproduce the engine's result.

use istio_overlay::{
    Errors, K8sObjectOverlay, Patch, Patcher, TreePath, apply_overlays, apply_overlays_moving,
    explain, lint,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Cases per property (each `proptest!` block below runs this many).
const PATH_CASES: u32 = 20_000;
const ENGINE_CASES: u32 = 5_000;

fn arb_path_text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "b",
        "name",
        "l",
        ".",
        "..",
        "\\.",
        "/",
        "../",
        "[",
        "]",
        "[0]",
        "[1]",
        "[-1]",
        "[-2]",
        "[5]",
        "[name:a]",
        "[name:b]",
        "[a]",
        "[:a]",
        "[:^b$]",
        "[]",
        "[:]",
        ":",
        "\\",
        "[(]",
        "[name:a\\.b]",
        " ",
        "é",
    ]);
    prop::collection::vec(atoms, 0..10).prop_map(|v| v.concat())
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3_000_000).prop_map(|n| json!(n)),
        Just(json!(0.5)),
        prop::sample::select(vec![
            "a",
            "b",
            "k: v",
            "a: 1\nb: 2",
            "{\"x\": 1}",
            "host:443",
            "",
            "# c: d"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (prop::sample::select(vec!["a", "b", "name", "l"]), inner),
                0..4
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Value> {
    arb_value().prop_map(|v| match v {
        Value::Object(m) => Value::Object(m),
        other => json!({"a": other, "l": [{"name": "a", "l": ["a", "b"]}, {"name": "b"}, null], "b": null}),
    })
}

fn arb_patch() -> impl Strategy<Value = Patch> {
    (arb_path_text(), prop::option::of(arb_value())).prop_map(|(path, value)| Patch { path, value })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(PATH_CASES))]
    #[test]
    fn path_parser_never_panics_and_display_round_trips(s in arb_path_text()) {
        let p = TreePath::parse(&s);
        let _ = p.istio_string();
        for seg in p.segments() {
            let _ = seg.kind();
        }
        // Display escapes dots. Istio's own cleaning cannot express some segments (one ending
        // in a backslash, a dot at either end of the path, slashes that filepath.Clean folds).
        let segs = p.segments();
        let expressible = !segs.iter().any(|s| s.as_str().ends_with('\\') || s.as_str().contains('/'))
            && !segs.first().is_some_and(|s| s.as_str().starts_with('.'))
            && !segs.last().is_some_and(|s| s.as_str().ends_with('.'));
        if expressible {
            let again = TreePath::parse(&p.to_string());
            prop_assert_eq!(again.segments(), p.segments(), "{} -> {}", s, p);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(ENGINE_CASES))]
    #[test]
    fn engine_never_panics_and_explain_matches(obj in arb_object(), patches in prop::collection::vec(arb_patch(), 1..6)) {
        // The engine, keep-going.
        let mut engine = obj.clone();
        let mut p = Patcher::new();
        let mut errors = Vec::new();
        for patch in &patches {
            if let Err(e) = p.apply(&mut engine, patch) {
                let _ = e.to_string();
                let _ = e.istio_message();
                errors.push(e);
            }
        }
        let _ = Errors(errors).to_string();
        // explain's operations, applied with json-patch, give the same object.
        let mut via_ops = obj.clone();
        for e in explain(&obj, &patches) {
            let r = json_patch::patch(&mut via_ops, &e.operations);
            prop_assert!(r.is_ok(), "ops {:?} fail: {:?}", e.operations, r);
        }
        prop_assert_eq!(&via_ops, &engine);
        // lint never panics, with or without the object.
        let overlays = vec![K8sObjectOverlay { kind: "X".into(), name: "x".into(), patches: patches.clone(), ..Default::default() }];
        let mut target = obj.clone();
        target["kind"] = json!("X");
        target["metadata"] = json!({"name": "x"});
        let _ = lint(&overlays, Some(std::slice::from_ref(&target)));
        let _ = lint(&overlays, None);
        // The overlay loop, which knows the patches to come (and so leaves unmarked what no later
        // one can reach), gives the object patch-by-patch application gives.
        let mut one_by_one = target.clone();
        let mut p = Patcher::new();
        for patch in &patches {
            let _ = p.apply(&mut one_by_one, patch);
        }
        let mut looped = vec![target.clone()];
        let _ = apply_overlays(&mut looped, &overlays);
        prop_assert_eq!(&looped[0], &one_by_one);
        // Moving the patch values gives the objects and errors that copying them gives, also
        // for an overlay matching two objects and for two overlays matching one.
        let doubled = [overlays.clone(), overlays.clone()].concat();
        for (objects, ovs) in [
            (vec![target.clone()], overlays.clone()),
            (vec![target.clone(), target.clone()], overlays.clone()),
            (vec![target.clone()], doubled),
        ] {
            let mut copied = objects.clone();
            let a = apply_overlays(&mut copied, &ovs).map_err(|e| e.to_string());
            let mut moved = objects;
            let b = apply_overlays_moving(&mut moved, &mut ovs.clone()).map_err(|e| e.to_string());
            prop_assert_eq!(a, b);
            prop_assert_eq!(copied, moved);
        }
    }
}

/// An object of lists of named maps, nested, for selectors to pick from.
fn named_lists() -> Value {
    json!({
        "l": [
            {"name": "a", "l": [{"name": "b", "a": 1}, {"name": "a", "l": ["a", "b"]}], "a": {"b": "a"}},
            {"name": "b", "l": ["a", "b"], "b": [{"name": "a"}]},
            {"name": "a", "a": "second a"}
        ],
        "a": {"l": [{"name": "b"}, {"name": "a", "b": {}}], "name": "a"}
    })
}

/// A sequence of patches whose paths share leading segments with the one before (a prefix of
/// it, then up to three more segments), as an overlay's patches usually do: the overlay loop
/// follows the previous patch's walk for those, which must give what walking again gives.
fn arb_related_patches() -> impl Strategy<Value = Vec<Patch>> {
    let atom = prop::sample::select(vec![
        "a", "b", "l", "name", "[name:a]", "[name:b]", "[0]", "[1]", "[-1]", "[a]", "[:b]",
    ]);
    let step = (
        0usize..6,
        prop::collection::vec(atom, 0..4),
        prop::option::of(arb_value()),
    );
    prop::collection::vec(step, 2..9).prop_map(|steps| {
        let mut prev: Vec<&str> = Vec::new();
        let mut patches = Vec::new();
        for (keep, more, value) in steps {
            let mut segs: Vec<&str> = prev.iter().copied().take(keep).collect();
            segs.extend(more);
            if segs.is_empty() {
                segs.push("l");
            }
            patches.push(Patch {
                path: segs.join("."),
                value,
            });
            prev = segs;
        }
        patches
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(ENGINE_CASES))]
    #[test]
    fn overlay_loop_following_the_previous_walk_matches_patch_by_patch(
        obj in prop_oneof![Just(named_lists()), arb_object()],
        patches in arb_related_patches(),
    ) {
        let mut target = obj;
        target["kind"] = json!("X");
        target["metadata"] = json!({"name": "x"});
        let mut one_by_one = target.clone();
        let mut p = Patcher::new();
        let failed = patches.iter().filter(|patch| p.apply(&mut one_by_one, patch).is_err()).count();
        let overlays = vec![K8sObjectOverlay { kind: "X".into(), name: "x".into(), patches, ..Default::default() }];
        let mut looped = vec![target];
        let errors = apply_overlays(&mut looped, &overlays).err().map_or(0, |e| e.0.len());
        prop_assert_eq!(&looped[0], &one_by_one);
        prop_assert_eq!(errors, failed);
    }
}
