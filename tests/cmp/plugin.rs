//! The real sidecar/plugin.yaml, run by the emulator against the examples/ repository: what ArgoCD would
//! apply for the Spinnaker Applications, how parameters change it, and how failures look in the UI.

use crate::emulator::{ui_command_error, ui_prefix, Application, Plugin, Sidecar};
use crate::{annotation_keys, assert_valid, copy_dir, examples, find, of_kind, Bin};
use serde_json::Value;
use spinnaker_krm_tests as h;
use std::path::Path;

/// The JVM services the Operator deploys for the example SpinnakerService (no canary: no kayenta; never keel).
const OPERATOR_JVM: &[&str] = &["clouddriver", "echo", "fiat", "front50", "gate", "igor", "orca", "rosco"];
/// The JVM services of the plain-Deployment example: every service but deck.
const ALL_JVM: &[&str] =
    &["clouddriver", "echo", "fiat", "front50", "gate", "igor", "kayenta", "keel", "orca", "rosco"];

/// The sidecar: plugin.yaml as shipped, and the image's env (PATH with spinnaker-krm and kustomize, HOME).
fn sidecar(bin: &Bin) -> Sidecar {
    let plugin = Plugin::load(&h::root().join("sidecar/plugin.yaml")).expect("sidecar/plugin.yaml loads");
    Sidecar::new(plugin, vec![("PATH".to_owned(), bin.path()), ("HOME".to_owned(), "/home/argocd".to_owned())])
}

/// The example's Spinnaker Application (apps/spinnaker.yaml).
fn spinnaker_app() -> Application {
    Application::load(&examples().join("apps/spinnaker.yaml")).expect("apps/spinnaker.yaml")
}

/// An Application for the plain-Deployment example, selecting the plugin by discovery (`plugin: {}`).
fn kustomize_example_app() -> Application {
    Application::parse(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: spinnaker-plain, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://git.example.com/platform/spinnaker-deploy.git, targetRevision: main, path: spinnaker-kustomize, plugin: {}}
  destination: {server: https://kubernetes.default.svc, namespace: spinnaker}
",
    )
    .expect("application")
}

fn spinnaker_service(objects: &[Value]) -> &Value {
    find(objects, "SpinnakerService", "spinnaker")
}

fn deployment_images(objects: &[Value]) -> Vec<String> {
    let mut images: Vec<String> = of_kind(objects, "Deployment")
        .iter()
        .flat_map(|d| d["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default())
        .map(|c| c["image"].as_str().unwrap_or_default().to_owned())
        .collect();
    images.sort();
    images
}

#[test]
fn plugin_yaml_is_the_plugin_the_example_application_names() {
    let plugin = Plugin::load(&h::root().join("sidecar/plugin.yaml")).unwrap();
    assert_eq!(plugin.socket_name(), "spinnaker-krm-v1");
    assert_eq!(plugin.generate.argv, ["spinnaker-krm", "generate"]);
    assert_eq!(plugin.dynamic.as_ref().unwrap().argv, ["spinnaker-krm", "parameters"]);
    assert_eq!(plugin.discover.file_name.as_deref(), Some("./spinnaker-krm.yaml"));
    let app = spinnaker_app();
    assert_eq!(app.plugin.as_ref().and_then(|p| p.name.as_deref()), Some("spinnaker-krm-v1"));
}

#[test]
fn the_spinnaker_app_renders_to_valid_pinned_objects() {
    let bin = Bin::new();
    let out = sidecar(&bin).generate(&examples(), &spinnaker_app()).unwrap_or_else(|e| panic!("{e}"));
    let service = spinnaker_service(&out.objects);
    assert_eq!(service["spec"]["spinnakerConfig"]["config"]["version"], "1.27.0");
    for svc in OPERATOR_JVM.iter().chain(&["deck"]) {
        let artifact = &service["spec"]["spinnakerConfig"]["service-settings"][svc]["artifactId"];
        assert_eq!(artifact, &Value::from(h::pinned_image(svc)), "{svc}");
    }
    assert_eq!(service["metadata"]["namespace"], "spinnaker", "the kustomization's namespace applies");
    // What the cluster gets: no kpt/kustomize bookkeeping, no functionConfig.
    for key in annotation_keys(&out.objects) {
        assert!(
            !key.starts_with("config.kubernetes.io/")
                && !key.starts_with("internal.config.kubernetes.io/")
                && !key.starts_with("kustomize.config.k8s.io/")
                && key != "config.k8s.io/id",
            "bookkeeping annotation {key} reached ArgoCD"
        );
    }
    assert!(of_kind(&out.objects, "SpinnakerPlatform").is_empty(), "the functionConfig reached ArgoCD");
    assert_valid(&out.stdout, &[], "the Spinnaker app's output");
}

#[test]
fn the_spinnaker_app_gets_truststores_mtls_and_certificates() {
    let bin = Bin::new();
    let out = sidecar(&bin).generate(&examples(), &spinnaker_app()).unwrap_or_else(|e| panic!("{e}"));
    let service = spinnaker_service(&out.objects);
    let config = &service["spec"]["spinnakerConfig"];
    for svc in OPERATOR_JVM {
        let patches = service["spec"]["kustomize"][svc]["deployment"]["patchesStrategicMerge"].to_string();
        assert!(patches.contains("keytool"), "{svc}: no keytool init container in its patches: {patches}");
        assert!(patches.contains("spinnaker-krm.dev/"), "{svc}: no spinnaker-krm.dev/ pod annotation: {patches}");
        assert!(config["profiles"][svc]["ok-http-client"]["key-store"].is_string(), "{svc}: a TLS client");
        if *svc == "gate" {
            // Gate's port stays plain HTTP for its front doors (README "Gate's front door").
            assert!(config["profiles"][svc]["server"].get("ssl").is_none(), "gate: server.ssl");
            assert!(config["service-settings"][svc].get("scheme").is_none(), "gate: scheme");
        } else {
            assert_eq!(config["profiles"][svc]["server"]["ssl"]["enabled"], true, "{svc}: server.ssl");
            assert_eq!(config["service-settings"][svc]["scheme"], "https", "{svc}: https");
        }
        assert_certificate(&out.objects, svc, "spinnaker");
    }
    assert_eq!(config["profiles"]["clouddriver"]["server"]["ssl"]["client-auth"], "need");
    let secret_refs = out.stdout.matches("TLS_INTERNAL_KEYSTORE_PASSWORD").count();
    assert!(secret_refs > 0, "the password is referenced from certificate-secrets");
}

#[test]
fn the_plain_deployment_app_is_discovered_and_gets_truststores_mtls_and_pins() {
    let bin = Bin::new();
    // What a kpt-managed directory carries: bookkeeping annotations and a local-config object.
    let repo = h::TempDir::new("plain");
    copy_dir(&examples(), repo.path());
    h::write_file(
        &repo.path().join("spinnaker-kustomize/kpt-leftovers.yml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: setters\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: spinnaker\n  annotations:\n    config.kubernetes.io/index: '0'\n    internal.config.kubernetes.io/path: kpt-leftovers.yml\n    config.k8s.io/id: '2'\n",
    );
    let out = sidecar(&bin).generate(repo.path(), &kustomize_example_app()).unwrap_or_else(|e| panic!("{e}"));
    assert!(find(&out.objects, "ConfigMap", "extra")["metadata"].get("annotations").is_none(), "bookkeeping left");
    assert!(!out.objects.iter().any(|o| o["metadata"]["name"] == "setters"), "a local-config object reached ArgoCD");
    let mut expected: Vec<String> = h::SERVICES.iter().map(|s| h::pinned_image(s)).collect();
    expected.sort();
    assert_eq!(deployment_images(&out.objects), expected);
    for svc in ALL_JVM {
        let deployment = find(&out.objects, "Deployment", svc);
        let template = &deployment["spec"]["template"];
        let init = template["spec"]["initContainers"].to_string();
        assert!(init.contains("keytool"), "{svc}: no init container running keytool: {init}");
        let annotations = template["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
        assert!(annotations.keys().any(|k| k.starts_with("spinnaker-krm.dev/")), "{svc}: {annotations:?}");
        assert_certificate(&out.objects, svc, "spinnaker");
    }
    assert_valid(&out.stdout, &["--allow-unknown"], "the plain-Deployment app's output");
}

/// A cert-manager.io/v1 Certificate for `svc`, with its in-cluster DNS name.
fn assert_certificate(objects: &[Value], svc: &str, namespace: &str) {
    let dns = format!("{svc}.{namespace}.svc");
    let found = of_kind(objects, "Certificate").into_iter().any(|c| {
        c["apiVersion"] == "cert-manager.io/v1"
            && c["spec"]["dnsNames"]
                .as_array()
                .is_some_and(|names| names.iter().any(|n| n == &Value::from(dns.clone())))
    });
    assert!(found, "no cert-manager.io/v1 Certificate with dnsName {dns}");
}

#[test]
fn parameters_override_spinnaker_krm_yaml() {
    let bin = Bin::new();
    let sidecar = sidecar(&bin);
    let registry = "registry.example.com/mirror/spinnaker";
    let mut app = spinnaker_app().with_parameters(&format!(
        "[{{name: bom-registry, string: {registry}}}, {{name: client-auth, string: want}}, {{name: namespace, string: spin}}]"
    ));
    // A namespace parameter must agree with the destination (the_namespace_is_the_applications_destination)
    // and with the SpinnakerService's own namespace (the kustomization's `namespace:`): the operator deploys
    // the services there, and the Bundle puts the CA bundle only into `namespace`.
    app.destination_namespace = "spin".to_owned();
    let mismatched = sidecar.generate(&examples(), &app).expect_err("the SpinnakerService is in namespace spinnaker");
    // The message names the parameter that set the namespace: spec.namespace in the file is overridden.
    assert!(
        mismatched.contains(
            "spinnaker-krm: error: Application parameter namespace: the SpinnakerService is in namespace spinnaker \
             but parameter namespace is spin; set the Application's spec.destination.namespace and parameter namespace \
             to where Spinnaker runs, or move Spinnaker into namespace spin (a kustomization's `namespace:`)"
        ),
        "{mismatched}"
    );
    // With no namespace in the file or the parameters, the namespace is the destination's, and so is the fix.
    let unnamed = h::TempDir::new("unnamed-namespace");
    copy_dir(&examples(), unnamed.path());
    let config = unnamed.path().join("spinnaker/spinnaker-krm.yaml");
    h::write_file(&config, &h::read_file(&config).replace("  namespace: spinnaker\n", ""));
    let mut destination_only = spinnaker_app();
    destination_only.destination_namespace = "spin".to_owned();
    let mismatched = sidecar.generate(unnamed.path(), &destination_only).expect_err("SpinnakerService in spinnaker");
    assert!(
        mismatched.contains(
            "spinnaker-krm: error: Application spec.destination.namespace: the SpinnakerService is in namespace \
             spinnaker but the Application's spec.destination.namespace is spin; set the Application's \
             spec.destination.namespace to where Spinnaker runs, or move Spinnaker into namespace spin"
        ),
        "{mismatched}"
    );
    let repo = examples_in("spin");
    let out = sidecar.generate(repo.path(), &app).unwrap_or_else(|e| panic!("{e}"));
    let config = &spinnaker_service(&out.objects)["spec"]["spinnakerConfig"];
    for svc in OPERATOR_JVM {
        let artifact = config["service-settings"][svc]["artifactId"].as_str().unwrap();
        assert!(artifact.starts_with(&format!("{registry}/{svc}:")), "{svc}: {artifact}");
    }
    assert_eq!(config["profiles"]["clouddriver"]["server"]["ssl"]["client-auth"], "want");
    // Its Certificates and the namespace trust-manager distributes the CA bundle to are the same.
    for svc in OPERATOR_JVM {
        assert_certificate(&out.objects, svc, "spin");
    }
    let bundle = of_kind(&out.objects, "Bundle");
    assert_eq!(bundle.len(), 1);
    assert_eq!(bundle[0]["spec"]["target"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "spin");

    // Arrays and maps: only gate and orca are changed; keel's pin comes from the parameter.
    let app = kustomize_example_app()
        .with_parameters("[{name: services, array: [gate, orca, keel]}, {name: extra-pins, map: {keel: 0.2.0}}]");
    let out = sidecar.generate(&examples(), &app).unwrap_or_else(|e| panic!("{e}"));
    let images = deployment_images(&out.objects);
    let community = h::COMMUNITY_REGISTRY;
    assert!(images.contains(&h::pinned_image("gate")) && images.contains(&h::pinned_image("orca")), "{images:?}");
    assert!(images.contains(&format!("{community}/keel:0.2.0")), "{images:?}");
    assert!(images.contains(&format!("{community}/clouddriver:latest")), "clouddriver is not selected: {images:?}");

    // Turning the injection off through parameters.
    let app = kustomize_example_app()
        .with_parameters("[{name: truststore-mode, string: none}, {name: mtls-enabled, string: 'false'}]");
    let out = sidecar.generate(&examples(), &app).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.stdout.contains("keytool"), "truststore-mode none still injects keytool");
    assert!(of_kind(&out.objects, "Certificate").is_empty(), "mtls-enabled false still makes Certificates");
}

/// A base outside the app directory that did not reach the plugin (ArgoCD sends only the manifest-generate-paths
/// when reposerver.plugin.use.manifest.generate.paths is on): kustomize's error names the file in the repository,
/// not in the temporary checkout, and says what sends it.
#[test]
fn a_missing_base_is_named_in_the_repository_with_what_sends_it() {
    let bin = Bin::new();
    let repo = h::TempDir::new("missing-base");
    copy_dir(&examples(), repo.path());
    let kustomization = repo.path().join("spinnaker/kustomization.yaml");
    h::write_file(&kustomization, &format!("{}- ../base\n", h::read_file(&kustomization)));
    let err = sidecar(&bin).generate(repo.path(), &spinnaker_app()).unwrap_err();
    let first = ui_error(&err).lines().next().unwrap().to_owned();
    assert!(
        first.starts_with("spinnaker-krm: error: kustomize build failed: ")
            && first.contains("'base'")
            && first.contains("fix the kustomization.yaml in the app directory")
            && first.contains("argocd.argoproj.io/manifest-generate-paths annotation lists it"),
        "{first}"
    );
    assert!(!first.contains("_cmp_server"), "the emulator's checkout, where generate ran: {first}");
}

/// One path in Git, an Application per environment, each pinning its release with the parameter
/// `bom-version`: the file need not name one (it was refused before the parameters were applied).
#[test]
fn the_release_may_come_from_the_parameter_alone() {
    let bin = Bin::new();
    let repo = h::TempDir::new("unpinned-config");
    copy_dir(&examples(), repo.path());
    let config = repo.path().join("spinnaker/spinnaker-krm.yaml");
    let text = h::read_file(&config);
    let unpinned: String =
        text.lines().filter(|l| !l.trim_start().starts_with("version:")).map(|l| format!("{l}\n")).collect();
    assert_ne!(unpinned, text, "the example pins a release");
    h::write_file(&config, &unpinned);
    let pinned = spinnaker_app().with_parameters("[{name: bom-version, string: 1.27.0}]");
    let out = sidecar(&bin).generate(repo.path(), &pinned).unwrap_or_else(|e| panic!("{e}"));
    let config = &spinnaker_service(&out.objects)["spec"]["spinnakerConfig"];
    let artifact = config["service-settings"]["clouddriver"]["artifactId"].as_str().unwrap();
    assert!(artifact.ends_with(&h::pinned_image("clouddriver").rsplit_once(':').unwrap().1), "{artifact}");
    // Without it, the error says where a release may be set.
    let err = sidecar(&bin).generate(repo.path(), &spinnaker_app()).unwrap_err();
    assert!(
        err.contains(
            "functionConfig spec.bom.version: required: set the Spinnaker release to pin (spec.bom.version: 1.27.0), \
             or the Application's parameter bom-version"
        ),
        "{err}"
    );
}

#[test]
fn a_bad_parameter_fails_naming_it_and_the_valid_keys() {
    let bin = Bin::new();
    let app = spinnaker_app().with_parameters("[{name: client-auth, string: sometimes}]");
    let err = sidecar(&bin).generate(&examples(), &app).unwrap_err();
    assert!(err.contains("parameter client-auth"), "{err}");
    let app = spinnaker_app().with_parameters("[{name: bom-verison, string: 1.27.0}]");
    let err = sidecar(&bin).generate(&examples(), &app).unwrap_err();
    assert!(err.contains("unknown key \"bom-verison\"") && err.contains("bom-version"), "{err}");
    // mode=verify through a parameter checks the example as committed (unprotected) and says so: under ArgoCD
    // nothing skipped spinnaker-krm.
    let app = spinnaker_app().with_parameters("[{name: mode, string: verify}]");
    let err = sidecar(&bin).generate(&examples(), &app).unwrap_err();
    assert!(
        err.contains(
            "; parameter mode=verify checks the manifests as they are in Git and changes nothing: set parameter \
             mode=transform to protect them"
        ) && !err.contains("--enable-exec"),
        "{err}"
    );
    // A release whose BOM is not in Git: the message names the parameter, which the file cannot override.
    let app = spinnaker_app().with_parameters("[{name: bom-version, string: 1.99.0}]");
    let err = sidecar(&bin).generate(&examples(), &app).unwrap_err();
    assert!(err.contains("cannot find the BOM bom/1.99.0.yml for parameter bom-version 1.99.0"), "{err}");
}

/// The error ArgoCD shows for the example app: its prefixes, then `` `spinnaker-krm generate` failed exit
/// status 2: <stderr> ``; returns stderr.
fn ui_error(err: &str) -> &str {
    let prefix = ui_command_error(&spinnaker_app(), "`spinnaker-krm generate` failed exit status 2: ");
    err.strip_prefix(&prefix).unwrap_or_else(|| panic!("not what the UI shows for a failed generate: {err}"))
}

#[test]
fn a_broken_bom_fails_with_a_readable_message_and_no_objects() {
    let bin = Bin::new();
    let repo = h::TempDir::new("broken-bom");
    copy_dir(&examples(), repo.path());
    let bom = repo.path().join("spinnaker/bom/1.27.0.yml");
    let text = h::read_file(&bom);
    for (broken, needle) in [
        (text.replace("version: 1.27.0", "version: 1.26.0"), "1.26.0"),
        (text.replace("services:", "services: [\n"), "bom/1.27.0.yml"),
        (String::new(), "bom/1.27.0.yml"),
    ] {
        h::write_file(&bom, &broken);
        let err = sidecar(&bin).generate(repo.path(), &spinnaker_app()).expect_err("a broken BOM must fail");
        let stderr = ui_error(&err);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("spinnaker-krm: error: "), "{stderr}");
        assert!(first.contains(needle), "the first line should name the problem ({needle}): {first}");
    }
    std::fs::remove_file(&bom).unwrap();
    let err = sidecar(&bin).generate(repo.path(), &spinnaker_app()).unwrap_err();
    let first = ui_error(&err).lines().next().unwrap().to_owned();
    // Named in the repository, not in ArgoCD's temporary checkout, which the user never sees.
    assert!(
        first.contains(
            "cannot find the BOM bom/1.27.0.yml for spec.bom.version 1.27.0 from spinnaker (the app directory) up to \
             the repository root; searched spinnaker/bom/1.27.0.yml, bom/1.27.0.yml; put the Spinnaker 1.27.0 BOM at \
             bom/1.27.0.yml (found from every directory of the repository)"
        ),
        "{first}"
    );
    assert!(!first.contains("_cmp_server"), "the emulator's checkout, where generate ran: {first}");
}

#[test]
fn no_secret_reaches_the_argocd_ui_when_generation_fails() {
    const CANARY: &str = "kd83-Canary-Password-x9Q";
    let bin = Bin::new();
    let repo = h::TempDir::new("secrets");
    copy_dir(&examples(), repo.path());
    let app_dir = repo.path().join("spinnaker-kustomize");
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: certificate-secrets\n  namespace: spinnaker\nstringData:\n  TLS_INTERNAL_KEYSTORE_PASSWORD: {CANARY}\n"
    );
    h::write_file(&app_dir.join("certificate-secrets.yml"), &secret);
    let app = kustomize_example_app();
    // It renders (the Secret passes through untouched)...
    let out = sidecar(&bin).generate(repo.path(), &app).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.stderr.contains(CANARY), "stderr on success: {}", out.stderr);
    // ...and every failure keeps it out of stderr: a broken BOM, a parameter that names a password, a
    // Secret that is not valid YAML, one that is not an object.
    let failures = [
        (app.with_parameters("[{name: keystore-password, string: kd83-Canary-Password-x9Q}]"), None),
        (app.clone(), Some(secret.replace("stringData:\n", "stringData: [\n"))),
        (app.clone(), Some(secret.replace("metadata:\n  name: certificate-secrets\n", "metadata: {}\n"))),
    ];
    for (app, broken_secret) in failures {
        if let Some(text) = &broken_secret {
            h::write_file(&app_dir.join("certificate-secrets.yml"), text);
        }
        let err = sidecar(&bin).generate(repo.path(), &app).expect_err("must fail");
        assert!(!err.contains(CANARY), "the password reached the UI:\n{err}");
        h::write_file(&app_dir.join("certificate-secrets.yml"), &secret);
    }
    h::write_file(&app_dir.join("bom/1.27.0.yml"), "version: 1.27.0\n");
    let err = sidecar(&bin).generate(repo.path(), &app).expect_err("must fail");
    assert!(!err.contains(CANARY), "the password reached the UI:\n{err}");
}

#[test]
fn an_app_with_nothing_to_deploy_fails_instead_of_pruning_everything() {
    let bin = Bin::new();
    let repo = h::TempDir::new("empty-app");
    let app_dir = repo.path().join("spinnaker");
    h::copy_file(&examples().join("spinnaker/spinnaker-krm.yaml"), &app_dir.join("spinnaker-krm.yaml"));
    h::install_bom(&app_dir);
    let err = sidecar(&bin).generate(repo.path(), &spinnaker_app()).expect_err("empty output must fail");
    assert!(ui_error(&err).starts_with("spinnaker-krm: error: no Kubernetes objects to deploy"), "{err}");
}

#[test]
fn a_kustomization_that_runs_the_function_itself_gets_the_route_advice() {
    let bin = Bin::new();
    let mut app = spinnaker_app();
    app.path = "kustomize-route".to_owned();
    let err = sidecar(&bin).generate(&examples(), &app).expect_err("the sidecar's kustomize has no exec plugins");
    let first = ui_error(&err).lines().next().unwrap().to_owned();
    assert!(first.contains("kustomize build failed") && first.contains("remove it from transformers:"), "{first}");
}

#[test]
fn plugin_selection_by_name_and_by_discovery() {
    let bin = Bin::new();
    let sidecar = sidecar(&bin);
    // The name without the version is the most common mistake (argocd-cmp.md §7.1).
    let mut app = spinnaker_app();
    app.plugin.as_mut().unwrap().name = Some("spinnaker-krm".to_owned());
    let err = sidecar.generate(&examples(), &app).unwrap_err();
    assert!(err.contains("could not find cmp-server plugin with name \"spinnaker-krm\""), "{err}");
    // Discovery needs spinnaker-krm.yaml in the app directory: the operator app is not ours.
    let mut app = kustomize_example_app();
    app.path = "spinnaker-operator".to_owned();
    let err = sidecar.generate(&examples(), &app).unwrap_err();
    assert_eq!(err, format!("{}could not find plugin supporting the given repository", ui_prefix(&app)));
}

#[test]
fn the_announcement_covers_every_parameter_once_with_current_values() {
    let bin = Bin::new();
    let sidecar = sidecar(&bin);
    let announced = sidecar.parameters(&examples(), &spinnaker_app()).unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<&str> = announced.iter().map(|a| a["name"].as_str().unwrap()).collect();
    let value = |name: &str| announced.iter().find(|a| a["name"] == name).unwrap()["string"].clone();
    assert_eq!(value("bom-version"), "1.27.0");
    assert_eq!(value("client-auth"), "need");
    assert_eq!(value("truststore-mode"), "init-container");
    assert_eq!(value("namespace"), "spinnaker");
    // Every key the function accepts (it lists them when given an unknown one), each announced once.
    let app = spinnaker_app().with_parameters("[{name: no-such-key, string: x}]");
    let err = sidecar.generate(&examples(), &app).unwrap_err();
    let valid = err.split("valid keys: ").nth(1).unwrap_or_else(|| panic!("{err}")).trim();
    let mut keys: Vec<&str> = valid.split(", ").collect();
    keys.sort_unstable();
    names.sort_unstable();
    assert_eq!(names, keys, "dynamic ++ static announcements vs the function's keys");

    // The values are the app's: another spinnaker-krm.yaml, other values.
    let repo = h::TempDir::new("announce");
    copy_dir(&examples(), repo.path());
    let config = repo.path().join("spinnaker/spinnaker-krm.yaml");
    h::write_file(&config, &h::read_file(&config).replace("clientAuth: need", "clientAuth: want"));
    let announced = sidecar.parameters(repo.path(), &spinnaker_app()).unwrap();
    assert_eq!(announced.iter().find(|a| a["name"] == "client-auth").unwrap()["string"], "want");
}

#[test]
fn the_example_applications_point_at_paths_that_exist() {
    let root = Application::load(&examples().join("bootstrap/root.yaml")).unwrap();
    assert!(examples().join(&root.path).is_dir(), "root app path {}", root.path);
    let mut children = 0;
    for entry in std::fs::read_dir(examples().join(&root.path)).unwrap() {
        let app = Application::load(&entry.unwrap().path()).unwrap();
        children += 1;
        if app.repo_url == root.repo_url {
            assert!(examples().join(&app.path).is_dir(), "{}: path {} is not in examples/", app.name, app.path);
        }
    }
    assert_eq!(children, 4, "cert-manager, trust-manager, the Operator and Spinnaker");
    assert!(Path::new(&examples().join("spinnaker/bom/1.27.0.yml")).is_file());
}

/// The examples' repository with every `namespace: spinnaker` line (configs, kustomizations and manifests)
/// turned into `namespace: <namespace>`, and dropped from the spinnaker-krm.yaml files (they follow the destination).
fn examples_in(namespace: &str) -> h::TempDir {
    let repo = h::TempDir::new("namespaced");
    copy_dir(&examples(), repo.path());
    for dir in ["spinnaker", "spinnaker-kustomize"] {
        for entry in std::fs::read_dir(repo.path().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let text = h::read_file(&path);
            let text = if path.ends_with("spinnaker-krm.yaml") {
                text.replace("  namespace: spinnaker\n", "")
            } else {
                text.replace("namespace: spinnaker\n", &format!("namespace: {namespace}\n"))
            };
            h::write_file(&path, &text);
        }
    }
    repo
}

#[test]
fn the_namespace_is_the_applications_destination() {
    let bin = Bin::new();
    let sidecar = sidecar(&bin);
    let repo = examples_in("spin-prod");
    // The Operator example: every Certificate names the destination's DNS names.
    let mut app = spinnaker_app();
    app.destination_namespace = "spin-prod".to_owned();
    // The UI announces no namespace of its own (the announcement's env has no destination).
    let announced = sidecar.parameters(repo.path(), &app).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(announced.iter().find(|a| a["name"] == "namespace").unwrap()["string"], "");
    let out = sidecar.generate(repo.path(), &app).unwrap_or_else(|e| panic!("{e}"));
    for svc in OPERATOR_JVM {
        assert_certificate(&out.objects, svc, "spin-prod");
    }
    let bundle = of_kind(&out.objects, "Bundle");
    assert_eq!(
        bundle[0]["spec"]["target"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "spin-prod"
    );
    // The plain-Deployment example: the service URLs too.
    let mut app = kustomize_example_app();
    app.destination_namespace = "spin-prod".to_owned();
    let out = sidecar.generate(repo.path(), &app).unwrap_or_else(|e| panic!("{e}"));
    for svc in ALL_JVM {
        assert_certificate(&out.objects, svc, "spin-prod");
    }
    assert!(out.stdout.contains("https://echo.spin-prod:8089"), "the service URLs are not the destination's");
    for svc in ALL_JVM {
        assert!(
            !out.stdout.contains(&format!("https://{svc}.spinnaker:")),
            "{svc}'s URL names the namespace spinnaker"
        );
    }
}

#[test]
fn a_config_namespace_other_than_the_destination_fails_naming_both() {
    let bin = Bin::new();
    let mut app = spinnaker_app();
    app.destination_namespace = "spin-prod".to_owned();
    let err = sidecar(&bin).generate(&examples(), &app).expect_err("spinnaker-krm.yaml says spinnaker");
    let first = ui_error(&err).lines().next().unwrap().to_owned();
    assert!(
        first.contains("spec.namespace in spinnaker-krm.yaml is spinnaker")
            && first.contains("deploys to namespace spin-prod (spec.destination.namespace)"),
        "{first}"
    );
    let app = app.with_parameters("[{name: namespace, string: spin}]");
    let err = sidecar(&bin).generate(&examples(), &app).expect_err("the parameter says spin");
    assert!(
        err.contains("plugin parameter namespace is spin but the Application deploys to namespace spin-prod"),
        "{err}"
    );
}

#[test]
fn generate_renders_alike_with_kustomize_v5_and_v4() {
    let bin = Bin::new();
    let v4 = sidecar(&bin);
    let mut v5 = sidecar(&bin);
    // kubectl v1.32's kustomize is v5.5.0 (ArgoCD 3.4+ ships 5.8.1).
    v5.base_env.push(("SPINNAKER_KRM_KUSTOMIZE".to_owned(), h::on_path("kubectl").display().to_string()));
    for app in [spinnaker_app(), kustomize_example_app()] {
        let old = v4.generate(&examples(), &app).unwrap_or_else(|e| panic!("v4: {e}"));
        let new = v5.generate(&examples(), &app).unwrap_or_else(|e| panic!("v5: {e}"));
        assert_eq!(old.objects, new.objects, "{}: kustomize 4.5.4 and 5.5.0 differ", app.path);
    }
}

#[test]
fn kustomize_build_options_are_passed_from_the_sidecar_or_the_application() {
    // A base outside the app directory needs `--load-restrictor LoadRestrictionsNone`, a typical global
    // kustomize.buildOptions.
    let bin = Bin::new();
    let repo = h::TempDir::new("build-options");
    copy_dir(&examples(), repo.path());
    std::fs::create_dir_all(repo.path().join("common")).unwrap();
    std::fs::rename(
        repo.path().join("spinnaker/spinnakerservice.yml"),
        repo.path().join("common/spinnakerservice.yml"),
    )
    .unwrap();
    let kustomization = repo.path().join("spinnaker/kustomization.yaml");
    h::write_file(
        &kustomization,
        &h::read_file(&kustomization).replace("- spinnakerservice.yml", "- ../common/spinnakerservice.yml"),
    );
    let options = "--load-restrictor   LoadRestrictionsNone";
    for engine in [None, Some(h::on_path("kubectl"))] {
        // The sidecar, with `extra` in its container env (and kubectl as the engine in the second round).
        let sidecar_with = |extra: &[(&str, &str)]| {
            let mut s = sidecar(&bin);
            if let Some(kubectl) = &engine {
                s.base_env.push(("SPINNAKER_KRM_KUSTOMIZE".to_owned(), kubectl.display().to_string()));
            }
            s.base_env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            s
        };
        let plain = sidecar_with(&[]);
        let err = plain.generate(repo.path(), &spinnaker_app()).expect_err("the load restrictor applies by default");
        assert!(ui_error(&err).contains("kustomize build failed"), "{engine:?}: {err}");
        // Install-wide: the sidecar container's KUSTOMIZE_BUILD_OPTIONS (what argocd-cm says, repeated).
        let configured = sidecar_with(&[("KUSTOMIZE_BUILD_OPTIONS", options)]);
        let out = configured.generate(repo.path(), &spinnaker_app()).unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        spinnaker_service(&out.objects);
        // Per Application: the plugin env KUSTOMIZE_BUILD_OPTIONS (ARGOCD_ENV_KUSTOMIZE_BUILD_OPTIONS) replaces it.
        let mut app = spinnaker_app();
        app.plugin.as_mut().unwrap().env.push(("KUSTOMIZE_BUILD_OPTIONS".to_owned(), options.to_owned()));
        let out = plain.generate(repo.path(), &app).unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        spinnaker_service(&out.objects);
        // An empty plugin env is no plugin env (Argo CD < 3.0 does not even send it): the sidecar's applies.
        app.plugin.as_mut().unwrap().env = vec![("KUSTOMIZE_BUILD_OPTIONS".to_owned(), String::new())];
        let out = configured.generate(repo.path(), &app).unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        spinnaker_service(&out.objects);
    }
}

#[test]
fn a_bom_outside_the_app_directory_is_explained_when_missing() {
    let bin = Bin::new();
    let repo = h::TempDir::new("bom-outside");
    copy_dir(&examples(), repo.path());
    let config = repo.path().join("spinnaker/spinnaker-krm.yaml");
    h::write_file(&config, &h::read_file(&config).replace("dir: bom", "dir: ../boms"));
    // What a manifest-generate-paths tarball without the BOM's directory looks like to the plugin.
    let err = sidecar(&bin).generate(repo.path(), &spinnaker_app()).expect_err("no ../boms");
    let first = ui_error(&err).lines().next().unwrap().to_owned();
    assert!(
        first.contains("cannot find the BOM ../boms/1.27.0.yml")
            && first.contains("under ArgoCD a BOM outside the app directory reaches the plugin only when the Application's argocd.argoproj.io/manifest-generate-paths annotation lists it (e.g. \".;../boms\")"),
        "{first}"
    );
    // Sent along (the whole repository, or the annotation lists it), it is read.
    std::fs::rename(repo.path().join("spinnaker/bom"), repo.path().join("boms")).unwrap();
    sidecar(&bin).generate(repo.path(), &spinnaker_app()).unwrap_or_else(|e| panic!("{e}"));
}
