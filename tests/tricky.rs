//! The tricky-scalar corpus (tests/data/tricky.yaml, krm-runtime.md §18) and a Deployment full of YAML 1.1
//! traps (tests/data/tricky-deployment.yaml) through the function: what kubectl reads must not change.
//!
//! kpt itself refolds a `>-` block into a double-quoted string and `-   b` into `- b` before the function
//! sees them (krm-runtime.md §10), so through kpt the meaning is compared, and the source text only where
//! kpt leaves it alone. Straight into the binary, every single-line scalar must keep its exact text.

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    h::root().join("tests/data").join(name)
}

/// `key: value` lines of a YAML file, trimmed, with comments, blank lines, the inside of block scalars and
/// flow collections / anchors / aliases left out: the lines that carry a single-line scalar in its source
/// style (a block scalar's header line, `key: |`, included).
fn scalar_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block_indent: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if let Some(b) = block_indent {
            if trimmed.is_empty() || indent > b {
                continue;
            }
            block_indent = None;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.ends_with('|')
            || trimmed.ends_with('>')
            || ["|-", "|+", ">-", ">+"].iter().any(|s| trimmed.ends_with(s))
        {
            block_indent = Some(indent);
        }
        let trimmed = trimmed.trim_start_matches('-').trim_start();
        // Flow collections, anchors and aliases are containers, not scalars: a block emitter may expand them.
        let value = trimmed.split_once(": ").map_or(trimmed, |(_, v)| v);
        if value.starts_with(['{', '[', '&', '*']) {
            continue;
        }
        if trimmed.contains(": ") || trimmed.starts_with('"') || trimmed.starts_with('\'') {
            out.push(trimmed.to_owned());
        }
    }
    out
}

/// Every scalar line of `original` (except those listed) appears as written in `result`.
#[track_caller]
fn assert_scalar_text_kept(original: &str, result: &str, except: &[&str]) {
    let have: std::collections::BTreeSet<String> =
        result.lines().map(|l| l.trim().trim_start_matches("- ").trim().to_owned()).collect();
    let missing: Vec<String> = scalar_lines(original)
        .into_iter()
        .filter(|l| !except.iter().any(|e| l.starts_with(e)))
        .filter(|l| !have.contains(l.trim_start_matches("- ")))
        .collect();
    assert!(missing.is_empty(), "source text changed or lost for:\n{}\n--- result:\n{result}", missing.join("\n"));
}

fn package(root: &Path) -> PathBuf {
    let pkg = root.join("pkg");
    h::copy_file(&data("tricky.yaml"), &pkg.join("tricky.yaml"));
    h::copy_file(&data("tricky-deployment.yaml"), &pkg.join("deployment.yaml"));
    h::install_bom(&pkg);
    h::write_file(&pkg.join(".krmignore"), "bom/\n");
    h::write_file(&root.join("cfg.yaml"), &h::pinning_config(""));
    pkg
}

fn kpt_eval(pkg: &Path, exec: &Path) {
    let mut cmd = Command::new(h::on_path("kpt"));
    cmd.current_dir(pkg).args(["fn", "eval", ".", "--truncate-output=false", "--exec"]).arg(exec);
    cmd.arg("--fn-config").arg("../cfg.yaml");
    h::run(&mut cmd, None).success();
}

/// An identity function (`cat`): what kpt alone does to a package.
fn identity(root: &Path) -> PathBuf {
    let path = root.join("identity.sh");
    h::write_file(&path, "#!/bin/sh\nexec cat\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn kpt_itself_rewrites_some_scalars() {
    // What the comparisons below allow for, pinned down: with a function that echoes its input, kpt
    // 1.0.0-beta.56 still rewrites these lines of tricky.yaml (and no others).
    let root = h::TempDir::new("tricky-identity");
    let pkg = package(root.path());
    kpt_eval(&pkg, &identity(root.path()));
    let original = h::read_file(&data("tricky.yaml"));
    let result = h::read_file(&pkg.join("tricky.yaml"));
    let removed: Vec<&str> = original.lines().filter(|l| !result.lines().any(|r| r == *l)).collect();
    let added: Vec<&str> = result.lines().filter(|l| !original.lines().any(|o| o == *l)).collect();
    assert_eq!(
        removed,
        [
            "  unicode: \"caf\\u00e9\"",
            "  folded: >",
            "    folded onto",
            "    one line",
            "  folded_strip: >-",
            "    folded",
            "    text",
            "  merge: {<<: *a, y: 2}",
            "  -   b",
        ],
        "kpt changed other lines:\n{result}"
    );
    assert_eq!(
        added,
        [
            "  unicode: \"café\"",
            "  folded: \"folded onto one line\\n\"",
            "  folded_strip: \"folded text\"",
            "  merge: {!!merge <<: *a, y: 2}",
            "  - b",
        ],
        "kpt changed other lines:\n{result}"
    );
    // Same meaning all the same.
    h::yaml11_equal(&data("tricky.yaml"), &pkg.join("tricky.yaml"), &[]).unwrap();
}

#[test]
fn tricky_scalars_keep_their_meaning_through_kpt() {
    let root = h::TempDir::new("tricky-kpt");
    let baseline = package(&root.path().join("baseline"));
    kpt_eval(&baseline, &identity(root.path()));
    let pkg = package(root.path());
    kpt_eval(&pkg, &h::binary());

    // The untouched object means what it meant, and each single-line scalar reads as kpt alone writes it.
    // (The style of the two folded blocks, which kpt hands over refolded, is checked straight into the
    // binary below; flow collections and anchors may come back in block style, expanded.)
    let tricky = pkg.join("tricky.yaml");
    h::yaml11_equal(&data("tricky.yaml"), &tricky, &[])
        .unwrap_or_else(|diff| panic!("tricky.yaml changed meaning through kpt + spinnaker-krm: {diff}"));
    assert_scalar_text_kept(
        &h::read_file(&baseline.join("tricky.yaml")),
        &h::read_file(&tricky),
        &["folded:", "folded_strip:"],
    );

    let deployment = h::read_file(&pkg.join("deployment.yaml"));
    assert_eq!(
        h::image_lines(&deployment),
        vec!["busybox:1.36".to_owned(), h::pinned_image("clouddriver"), "redis:5".to_owned()],
        "{deployment}"
    );
    let expected = root.path().join("expected-deployment.yaml");
    h::write_file(&expected, &h::pin_text(&h::read_file(&data("tricky-deployment.yaml"))));
    h::yaml11_equal(&expected, &pkg.join("deployment.yaml"), &["--strip-annotations", h::TOOL_ANNOTATIONS])
        .unwrap_or_else(|diff| panic!("deployment.yaml changed beyond its image: {diff}"));
    assert_scalar_text_kept(&h::pin_text(&h::read_file(&baseline.join("deployment.yaml"))), &deployment, &[]);
    h::validate(&pkg.join("deployment.yaml"), &[]).unwrap_or_else(|e| panic!("invalid after the run:\n{e}"));

    // Idempotent through kpt as well.
    let before = h::snapshot(&pkg);
    kpt_eval(&pkg, &h::binary());
    assert!(before == h::snapshot(&pkg), "a second kpt run changed the package");
}

#[test]
fn tricky_scalars_keep_their_source_text_in_the_binary() {
    let root = h::TempDir::new("tricky-direct");
    h::install_bom(root.path());
    let tricky = h::read_file(&data("tricky.yaml"));
    let deployment = h::read_file(&data("tricky-deployment.yaml"));
    let input = h::resource_list(&[&tricky, &deployment], &h::pinning_config(""));
    let out = h::run_function(root.path(), &input).success();

    // The whole of both objects, as data.
    let result = root.path().join("out.yaml");
    h::write_file(&result, &out.stdout);
    let expected = root.path().join("expected.yaml");
    h::write_file(&expected, &format!("{tricky}---\n{}", h::pin_text(&deployment)));
    h::yaml11_equal(&expected, &result, &["--unwrap", "--strip-annotations", h::TOOL_ANNOTATIONS])
        .unwrap_or_else(|diff| panic!("the function changed meaning: {diff}\n--- output:\n{}", out.stdout));

    // And the text: every single-line scalar keeps its source text and quoting style (DESIGN.md:
    // "A scalar the transform did not touch keeps its source text and style"). Folded blocks: below.
    assert_scalar_text_kept(&tricky, &out.stdout, &["folded:", "folded_strip:"]);
    assert_scalar_text_kept(&h::pin_text(&deployment), &out.stdout, &[]);

    // Idempotent: the output, fed back, comes out byte for byte the same.
    let again = h::run_function(root.path(), &h::with_function_config(&out.stdout, &h::pinning_config(""))).success();
    assert_eq!(again.stdout, out.stdout, "a second run changed the output");
}

#[test]
fn block_scalars_keep_their_style_in_the_binary() {
    // DESIGN.md: an untouched scalar keeps its source text and style. `>` and `|` give the same string
    // here, but a folded block coming back literal is a diff in the user's git (kpt writes it as emitted).
    let root = h::TempDir::new("tricky-blocks");
    h::install_bom(root.path());
    let input = h::resource_list(&[&h::read_file(&data("tricky.yaml"))], &h::pinning_config(""));
    let out = h::run_function(root.path(), &input).success();
    for header in ["literal: |", "literal_strip: |-", "literal_keep: |+", "folded: >", "folded_strip: >-"] {
        assert!(out.stdout.lines().any(|l| l.trim() == header), "lost {header:?}:\n{}", out.stdout);
    }
}

#[test]
fn scalar_lines_sees_what_it_should() {
    // The helper above must not compare nothing.
    let lines = scalar_lines(&h::read_file(&data("tricky.yaml")));
    assert!(lines.contains(&"quoted_yes: \"yes\"".to_owned()), "{lines:?}");
    assert!(lines.contains(&"plain_0755: 0755".to_owned()), "{lines:?}");
    assert!(lines.contains(&"\"on\"".to_owned()), "{lines:?}");
    assert!(lines.contains(&"z_last: 1".to_owned()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("indented line two")), "block content is not a scalar line: {lines:?}");
    assert!(lines.len() > 50, "{} lines", lines.len());
    let changed = h::read_file(&data("tricky.yaml")).replace("quoted_yes: \"yes\"", "quoted_yes: 'yes'");
    let caught =
        std::panic::catch_unwind(|| assert_scalar_text_kept(&h::read_file(&data("tricky.yaml")), &changed, &[]));
    assert!(caught.is_err(), "a re-quoted scalar must be caught");
}
