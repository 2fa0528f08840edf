use proptest::prelude::*;

use super::*;

fn rec(id: i64) -> RecordKey {
    RecordKey::new("sale.order", id)
}

fn o(id: i64, name: &str, c: u8) -> OdooState {
    OdooState {
        record: rec(id),
        name: name.into(),
        sha1: Some(format!("s{c}")),
        size: u64::from(c),
    }
}

fn d(id: i64, name: &str, c: u8) -> DriveState {
    DriveState {
        record: Some(rec(id)),
        name: names::to_drive(name),
        quick_xor: Some(format!("q{c}")),
        size: u64::from(c),
    }
}

fn base(id: i64, name: &str, c: u8) -> FileItem {
    FileItem {
        odoo: Some(o(id, name, c)),
        drive: Some(d(id, name, c)),
        mtime: None,
    }
}

fn two_way() -> FileSettings {
    FileSettings::default()
}

/// Baseline, Odoo, OneDrive, expected rule, expected ops.
type Row<'a> = (
    Option<&'a FileItem>,
    Option<OdooState>,
    Option<DriveState>,
    &'a str,
    Vec<FileOp>,
);

#[test]
fn the_table_rows_decide_as_documented() {
    let s = two_way();
    let b = base(1, "a.pdf", 1);
    let cases: Vec<Row<'_>> = vec![
        (
            None,
            Some(o(1, "a.pdf", 1)),
            None,
            "new_in_odoo",
            vec![FileOp::DriveCreate {
                record: rec(1),
                name: "a.pdf".into(),
            }],
        ),
        (
            None,
            None,
            Some(d(1, "a:b.pdf", 1)),
            "new_in_onedrive",
            vec![FileOp::OdooCreate {
                record: rec(1),
                name: "a:b.pdf".into(),
            }],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 1)),
            Some(d(1, "a.pdf", 1)),
            "unchanged",
            vec![],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 2)),
            Some(d(1, "a.pdf", 1)),
            "changed_in_odoo",
            vec![FileOp::DriveReplace],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 1)),
            Some(d(1, "a.pdf", 2)),
            "changed_in_onedrive",
            vec![FileOp::OdooReplace],
        ),
        (
            Some(&b),
            Some(o(1, "b.pdf", 1)),
            Some(d(1, "a.pdf", 1)),
            "renamed_in_odoo",
            vec![FileOp::DriveRename {
                name: "b.pdf".into(),
            }],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 1)),
            Some(d(2, "a.pdf", 1)),
            "moved_in_onedrive",
            vec![FileOp::OdooMove { record: rec(2) }],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 2)),
            Some(d(1, "c.pdf", 1)),
            "changed_in_odoo+renamed_in_onedrive",
            vec![
                FileOp::DriveReplace,
                FileOp::OdooRename {
                    name: "c.pdf".into(),
                },
            ],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 2)),
            Some(d(1, "a.pdf", 3)),
            "both_changed_keep_both",
            vec![FileOp::KeepBoth {
                to_drive: true,
                to_odoo: true,
            }],
        ),
        (
            Some(&b),
            None,
            Some(d(1, "a.pdf", 1)),
            "deleted_in_odoo",
            vec![FileOp::DriveDelete, FileOp::Unlink],
        ),
        (
            Some(&b),
            None,
            Some(d(1, "a.pdf", 2)),
            "edit_wins_over_delete",
            vec![FileOp::OdooCreate {
                record: rec(1),
                name: "a.pdf".into(),
            }],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 1)),
            None,
            "deleted_in_onedrive",
            vec![FileOp::OdooDelete, FileOp::Unlink],
        ),
        (
            Some(&b),
            Some(o(1, "a.pdf", 2)),
            None,
            "edit_wins_over_delete",
            vec![FileOp::DriveCreate {
                record: rec(1),
                name: "a.pdf".into(),
            }],
        ),
        (
            Some(&b),
            None,
            None,
            "deleted_on_both_sides",
            vec![FileOp::Unlink],
        ),
    ];
    for (b, o, d, rule, ops) in cases {
        let dec = reconcile(b, o.as_ref(), d.as_ref(), &s);
        assert_eq!((dec.rule.as_str(), &dec.ops), (rule, &ops), "{o:?} / {d:?}");
    }
}

#[test]
fn a_file_in_a_folder_of_no_record_is_reported_and_left_alone() {
    let mut f = d(1, "a.pdf", 1);
    f.record = None;
    let dec = reconcile(None, None, Some(&f), &two_way());
    assert!(dec.unplaced && dec.is_noop());
}

#[test]
fn the_keep_policy_detaches_and_only_a_new_edit_uploads_again() {
    let s = FileSettings {
        on_drive_delete: DeletePolicy::Keep,
        ..FileSettings::default()
    };
    let b = base(1, "a.pdf", 1);
    let dec = reconcile(Some(&b), Some(&o(1, "a.pdf", 1)), None, &s);
    assert_eq!(dec.ops, vec![FileOp::Detach]);
    let detached = FileItem { drive: None, ..b };
    assert!(reconcile(Some(&detached), Some(&o(1, "a.pdf", 1)), None, &s).is_noop());
    assert_eq!(
        reconcile(Some(&detached), Some(&o(1, "a.pdf", 2)), None, &s).ops,
        vec![FileOp::DriveCreate {
            record: rec(1),
            name: "a.pdf".into()
        }]
    );
}

#[test]
fn one_way_ignores_the_target_side_and_restores_its_deletes() {
    let s = FileSettings {
        direction: Direction::OdooToDrive,
        ..FileSettings::default()
    };
    let b = base(1, "a.pdf", 1);
    let dec = reconcile(
        Some(&b),
        Some(&o(1, "a.pdf", 1)),
        Some(&d(1, "a.pdf", 2)),
        &s,
    );
    assert!(dec.is_noop());
    assert_eq!(dec.ignored, vec![(Side::Microsoft, FileField::Content)]);
    let dec = reconcile(Some(&b), Some(&o(1, "a.pdf", 1)), None, &s);
    assert_eq!(dec.rule, "one_way_restore");
    assert!(reconcile(None, None, Some(&d(1, "x.pdf", 1)), &s).is_noop());
}

// ------------------------------------------------------------------ properties

/// One item of the abstract world: its baseline and both sides; content is a number.
#[derive(Debug, Clone)]
struct World {
    base: Option<FileItem>,
    o: Option<OdooState>,
    d: Option<DriveState>,
}

fn content_of_o(o: &OdooState) -> u8 {
    o.sha1.as_deref().unwrap_or("s0")[1..].parse().unwrap()
}

fn content_of_d(d: &DriveState) -> u8 {
    d.quick_xor.as_deref().unwrap_or("q0")[1..].parse().unwrap()
}

fn with_content_o(mut o: OdooState, c: u8) -> OdooState {
    o.sha1 = Some(format!("s{c}"));
    o.size = u64::from(c);
    o
}

fn with_content_d(mut d: DriveState, c: u8) -> DriveState {
    d.quick_xor = Some(format!("q{c}"));
    d.size = u64::from(c);
    d
}

fn rebase(
    old: Option<&FileItem>,
    o: Option<&OdooState>,
    d: Option<&DriveState>,
    ignored: &[(Side, FileField)],
) -> FileItem {
    let mut o = o.cloned();
    let mut d = d.cloned();
    for (side, f) in ignored {
        match side {
            Side::Odoo => {
                if let (Some(o), Some(b)) = (o.as_mut(), old.and_then(|b| b.odoo.as_ref())) {
                    match f {
                        FileField::Content => {
                            o.sha1 = b.sha1.clone();
                            o.size = b.size;
                        }
                        FileField::Name => o.name = b.name.clone(),
                        FileField::Record => o.record = b.record.clone(),
                    }
                }
            }
            Side::Microsoft => {
                if let (Some(d), Some(b)) = (d.as_mut(), old.and_then(|b| b.drive.as_ref())) {
                    match f {
                        FileField::Content => {
                            d.quick_xor = b.quick_xor.clone();
                            d.size = b.size;
                        }
                        FileField::Name => d.name = b.name.clone(),
                        FileField::Record => d.record = b.record.clone(),
                    }
                }
            }
        }
    }
    FileItem {
        odoo: o,
        drive: d,
        mtime: None,
    }
}

/// Applies a decision the way the engine does; a keep-both split yields two items.
fn apply(w: &World, dec: &FileDecision) -> Vec<World> {
    let mut o = w.o.clone();
    let mut d = w.d.clone();
    let mut linked = w.base.is_some();
    let mut detach = false;
    let mut out = Vec::new();
    for op in &dec.ops {
        match op {
            FileOp::DriveCreate { record, name } => {
                let c = content_of_o(o.as_ref().unwrap());
                d = Some(with_content_d(
                    DriveState {
                        record: Some(record.clone()),
                        name: names::to_drive(name),
                        quick_xor: None,
                        size: 0,
                    },
                    c,
                ));
                linked = true;
            }
            FileOp::DriveReplace => {
                let c = content_of_o(o.as_ref().unwrap());
                d = Some(with_content_d(d.clone().unwrap(), c));
            }
            FileOp::DriveRename { name } => d.as_mut().unwrap().name = names::to_drive(name),
            FileOp::DriveMove { record } => d.as_mut().unwrap().record = Some(record.clone()),
            FileOp::DriveDelete => d = None,
            FileOp::OdooCreate { record, name } => {
                let c = content_of_d(d.as_ref().unwrap());
                o = Some(with_content_o(
                    OdooState {
                        record: record.clone(),
                        name: name.clone(),
                        sha1: None,
                        size: 0,
                    },
                    c,
                ));
                linked = true;
            }
            FileOp::OdooReplace => {
                let c = content_of_d(d.as_ref().unwrap());
                o = Some(with_content_o(o.clone().unwrap(), c));
            }
            FileOp::OdooRename { name } => o.as_mut().unwrap().name = name.clone(),
            FileOp::OdooMove { record } => o.as_mut().unwrap().record = record.clone(),
            FileOp::OdooDelete => o = None,
            FileOp::KeepBoth { to_drive, to_odoo } => {
                let (oo, dd) = (o.clone().unwrap(), d.clone().unwrap());
                let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
                if *to_drive {
                    let copy = with_content_d(
                        DriveState {
                            record: Some(oo.record.clone()),
                            name: names::conflict_name(&names::to_drive(&oo.name), date),
                            quick_xor: None,
                            size: 0,
                        },
                        content_of_o(&oo),
                    );
                    out.push(World {
                        base: Some(rebase(None, Some(&oo), Some(&copy), &[])),
                        o: Some(oo.clone()),
                        d: Some(copy),
                    });
                } else {
                    out.push(World {
                        base: None,
                        o: Some(oo.clone()),
                        d: None,
                    });
                }
                if *to_odoo {
                    let att = with_content_o(
                        OdooState {
                            record: dd.record.clone().unwrap(),
                            name: names::from_drive(&dd.name),
                            sha1: None,
                            size: 0,
                        },
                        content_of_d(&dd),
                    );
                    out.push(World {
                        base: Some(rebase(None, Some(&att), Some(&dd), &[])),
                        o: Some(att),
                        d: Some(dd),
                    });
                } else {
                    out.push(World {
                        base: None,
                        o: None,
                        d: Some(dd),
                    });
                }
                return out;
            }
            FileOp::Link => linked = true,
            FileOp::Unlink => linked = false,
            FileOp::Detach => detach = true,
        }
    }
    let base = if linked {
        let mut b = rebase(w.base.as_ref(), o.as_ref(), d.as_ref(), &dec.ignored);
        if detach {
            b.drive = None;
        }
        Some(b)
    } else if dec.ops.is_empty() {
        w.base.clone()
    } else {
        None
    };
    out.push(World { base, o, d });
    out
}

fn arb_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a.pdf", "b.pdf", "CON.txt", "x:y?.doc", " lead", "trail.",
    ])
    .prop_map(|s: &str| s.to_string())
}

fn arb_world() -> impl Strategy<Value = World> {
    let side = || (1i64..3, arb_name(), 1u8..4);
    (
        prop::option::of(side()),
        prop::option::of(side()),
        prop::option::of(side()),
        any::<bool>(),
    )
        .prop_map(|(b, os, ds, keep_pair)| match b {
            Some((r, n, c)) => World {
                base: Some(base(r, &n, c)),
                o: os.map(|(r2, n2, c2)| o(r2, &n2, c2)),
                d: ds.map(|(r2, n2, c2)| d(r2, &n2, c2)),
            },
            None => {
                // Without a baseline the engine pairs two sides only when their content is
                // equal (re-linking after a lost store).
                let o_side = os.clone().map(|(r, n, c)| o(r, &n, c));
                let d_side = match (&os, ds) {
                    (Some((r, n, c)), Some(_)) if keep_pair => Some(d(*r, n, *c)),
                    (Some(_), _) => None,
                    (None, ds) => ds.map(|(r, n, c)| d(r, &n, c)),
                };
                World {
                    base: None,
                    o: o_side,
                    d: d_side,
                }
            }
        })
}

fn arb_settings() -> impl Strategy<Value = FileSettings> {
    (
        prop::sample::select(vec![
            Direction::Both,
            Direction::OdooToDrive,
            Direction::DriveToOdoo,
        ]),
        prop::sample::select(vec![DeletePolicy::Delete, DeletePolicy::Keep]),
    )
        .prop_map(|(direction, on_drive_delete)| FileSettings {
            direction,
            on_drive_delete,
        })
}

/// The contents a user made that the baseline does not hold yet (edits and new files).
fn fresh_contents(w: &World) -> Vec<u8> {
    let mut out = Vec::new();
    let bo = w
        .base
        .as_ref()
        .and_then(|b| b.odoo.as_ref())
        .and_then(|b| b.sha1.clone());
    let bd = w
        .base
        .as_ref()
        .and_then(|b| b.drive.as_ref())
        .and_then(|b| b.quick_xor.clone());
    if let Some(o) = &w.o {
        if o.sha1 != bo {
            out.push(content_of_o(o));
        }
    }
    if let Some(d) = &w.d {
        if d.quick_xor != bd {
            out.push(content_of_d(d));
        }
    }
    out
}

proptest! {
    #[test]
    fn one_pass_converges_and_a_second_pass_writes_nothing(w in arb_world(), s in arb_settings()) {
        let dec = reconcile(w.base.as_ref(), w.o.as_ref(), w.d.as_ref(), &s);
        for w2 in apply(&w, &dec) {
            let again = reconcile(w2.base.as_ref(), w2.o.as_ref(), w2.d.as_ref(), &s);
            prop_assert!(again.is_noop(), "{:?}\n→ {:?}\n→ {:?}\n→ {:?}", w, dec, w2, again);
            // Two-way, a linked pair ends with the same content on both sides.
            if s.direction == Direction::Both {
                if let (Some(o), Some(d), Some(_)) = (&w2.o, &w2.d, &w2.base) {
                    prop_assert_eq!(content_of_o(o), content_of_d(d));
                }
            }
        }
    }

    #[test]
    fn no_edit_is_ever_lost(w in arb_world(), s in arb_settings()) {
        let dec = reconcile(w.base.as_ref(), w.o.as_ref(), w.d.as_ref(), &s);
        let after = apply(&w, &dec);
        for c in fresh_contents(&w) {
            let kept = after.iter().any(|w2| {
                w2.o.as_ref().is_some_and(|o| content_of_o(o) == c)
                    || w2.d.as_ref().is_some_and(|d| content_of_d(d) == c)
            });
            prop_assert!(kept, "content {} lost: {:?} → {:?}", c, w, dec);
        }
    }
}
