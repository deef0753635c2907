//! The install manifests: `sidecar/` and `argocd-cm/` are kustomize Components that `kubectl kustomize`
//! (and the standalone kustomize) build over the upstream argocd-repo-server Deployment and argocd-cm
//! (tests/fixtures/argocd/, copied from Argo CD with their source noted), into objects valid against the
//! Kubernetes schemas. The Helm values and the Dockerfile are checked for what they must agree on.

use crate::emulator::{yaml_documents, Plugin};
use crate::{assert_valid, find};
use serde_json::Value;
use spinnaker_krm_tests as h;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// `to` relative to `from` (kustomize refuses absolute component paths).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out: PathBuf = std::iter::repeat_n(Path::new(".."), from.len() - common).collect();
    out.extend(to[common..].iter());
    out
}

/// An Argo CD install (the upstream repo-server Deployment and argocd-cm) with `component` added.
pub fn install_with(component: &str) -> (h::TempDir, PathBuf) {
    let tmp = h::TempDir::new(&format!("install-{component}"));
    let dir = tmp.path().join("argocd");
    let data = h::root().join("tests/fixtures/argocd");
    for file in ["argocd-repo-server-deployment.yaml", "argocd-cm.yaml"] {
        h::copy_file(&data.join(file), &dir.join(file));
    }
    let component_dir = relative(&dir, &h::root().join(component));
    h::write_file(
        &dir.join("kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\nresources:\n\
             - argocd-repo-server-deployment.yaml\n- argocd-cm.yaml\ncomponents:\n- {}\n",
            component_dir.display()
        ),
    );
    (tmp, dir)
}

/// `kubectl kustomize DIR` (and the same with the standalone kustomize: both must agree).
pub fn build(dir: &Path) -> (String, Vec<Value>) {
    let kubectl = h::run(Command::new(h::on_path("kubectl")).arg("kustomize").arg(dir), None).success();
    let standalone = h::run(Command::new(h::kustomize()).arg("build").arg(dir), None).success();
    let objects = parse(&kubectl.stdout);
    assert_eq!(objects, parse(&standalone.stdout), "kubectl kustomize and kustomize 4.5.4 disagree");
    (kubectl.stdout, objects)
}

fn parse(text: &str) -> Vec<Value> {
    yaml_documents(text).iter().filter(|d| !d.trim().is_empty()).map(|d| serde_yaml_ng::from_str(d).unwrap()).collect()
}

pub fn pod(objects: &[Value]) -> &Value {
    &find(objects, "Deployment", "argocd-repo-server")["spec"]["template"]["spec"]
}

pub fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().and_then(|l| l.iter().find(|c| c["name"] == name)).unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// Every volume a container mounts is a volume of the pod.
fn assert_mounts_resolve(pod: &Value) {
    let volumes: Vec<&str> = pod["volumes"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    for list in ["containers", "initContainers"] {
        for c in pod[list].as_array().into_iter().flatten() {
            for m in c["volumeMounts"].as_array().into_iter().flatten() {
                let name = m["name"].as_str().unwrap();
                assert!(volumes.contains(&name), "{} mounts {name}, which is not a volume", c["name"]);
            }
        }
    }
}

#[test]
fn the_sidecar_component_builds_over_upstream_argocd_into_valid_objects() {
    let (_tmp, dir) = install_with("sidecar");
    let (text, objects) = build(&dir);
    assert_valid(&text, &[], "the sidecar install");
    let pod = pod(&objects);
    let sidecar = named(&pod["containers"], "spinnaker-krm");
    assert_eq!(sidecar["command"], serde_json::json!(["/var/run/argocd/argocd-cmp-server"]));
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999, "must match the repo-server's uid to dial the socket");
    let mounts = &sidecar["volumeMounts"];
    let at = |path: &str| {
        mounts
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("no mount at {path}"))
    };
    assert_eq!(at("/var/run/argocd")["name"], "var-files");
    assert_eq!(at("/home/argocd/cmp-server/plugins")["name"], "plugins");
    assert_ne!(at("/tmp")["name"], "tmp", "the sidecar must not share the repo-server's /tmp");
    let config_mount = at("/home/argocd/cmp-server/config/plugin.yaml");
    assert_eq!(config_mount["subPath"], "plugin.yaml");
    assert_mounts_resolve(pod);
    // The upstream repo-server container and init container are still there, unchanged in name.
    named(&pod["containers"], "argocd-repo-server");
    named(&pod["initContainers"], "copyutil");
    // The mounted plugin.yaml is sidecar/plugin.yaml, byte for byte, in the (hashed) ConfigMap it names.
    let volume = named(&pod["volumes"], config_mount["name"].as_str().unwrap());
    let cm_name = volume["configMap"]["name"].as_str().unwrap();
    assert!(cm_name.starts_with("spinnaker-krm-plugin-"), "hashed name, so an edit restarts the pod: {cm_name}");
    let cm = find(&objects, "ConfigMap", cm_name);
    assert_eq!(cm["data"]["plugin.yaml"], h::read_file(&h::root().join("sidecar/plugin.yaml")));
}

#[test]
fn the_argocd_cm_component_builds_over_upstream_argocd_into_valid_objects() {
    let (_tmp, dir) = install_with("argocd-cm");
    let (text, objects) = build(&dir);
    assert_valid(&text, &[], "the argocd-cm install");
    let cm = find(&objects, "ConfigMap", "argocd-cm");
    // The legacy plugin route: one flag, and no --enable-exec for every repository ArgoCD renders.
    assert_eq!(cm["data"]["kustomize.buildOptions"], "--enable-alpha-plugins");
    let upstream = parse(&h::read_file(&h::root().join("tests/fixtures/argocd/argocd-cm.yaml")));
    for key in upstream[0]["data"].as_object().unwrap().keys() {
        assert!(cm["data"].get(key).is_some(), "the patch dropped argocd-cm's {key}");
    }
    let pod = pod(&objects);
    let init = named(&pod["initContainers"], "install-spinnaker-krm");
    let argv: Vec<&str> = init["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(argv[..3], ["/usr/local/bin/spinnaker-krm", "install-kustomize-plugin", "--dir"]);
    let plugin_home = Path::new(argv[3]);
    let init_mount = &init["volumeMounts"][0];
    assert_eq!(init_mount["mountPath"], plugin_home.join("spinnaker-krm.dev").display().to_string());
    let repo_server = named(&pod["containers"], "argocd-repo-server");
    let xdg = repo_server["env"].as_array().unwrap().iter().find(|e| e["name"] == "XDG_CONFIG_HOME").unwrap();
    let mount = repo_server["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == init_mount["name"])
        .expect("the repo-server mounts the volume the init container fills");
    let expected = format!("{}/kustomize/plugin/spinnaker-krm.dev", xdg["value"].as_str().unwrap());
    assert_eq!(
        mount["mountPath"],
        expected.as_str(),
        "where kustomize looks: $XDG_CONFIG_HOME/kustomize/plugin/<group>"
    );
    assert_eq!(mount["readOnly"], true, "the repo-server cannot change the plugin");
    assert!(repo_server["volumeMounts"].as_array().unwrap().len() > 1, "the upstream mounts survive");
    assert!(repo_server["env"].as_array().unwrap().len() > 1, "the upstream env survives");
    assert_mounts_resolve(pod);

    // What the init container runs: `spinnaker-krm install-kustomize-plugin --dir DIR` leaves an executable
    // SpinnakerPlatform where kustomize looks below DIR.
    let out = h::TempDir::new("install");
    h::run(Command::new(h::binary()).arg("install-kustomize-plugin").arg("--dir").arg(out.path()), None).success();
    let installed = out.path().join("spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777, 0o755);
    // `install DIR`, for an exec function's `exec: {path: spinnaker-krm}`, leaves the CLI under its own name.
    h::run(Command::new(h::binary()).arg("install").arg(out.path()), None).success();
    h::run(Command::new(out.path().join("spinnaker-krm")).arg("--version"), None).success();
}

#[test]
fn the_helm_values_install_the_same_plugin_and_a_valid_sidecar() {
    let values: Value = serde_yaml_ng::from_str(&h::read_file(&h::root().join("sidecar/values-argo-cd.yaml"))).unwrap();
    // configs.cmp.plugins.<name> becomes `<name>.yaml` in argocd-cmp-cm: a ConfigManagementPlugin with that name.
    let plugin_yaml: Value = serde_yaml_ng::from_str(&h::read_file(&h::root().join("sidecar/plugin.yaml"))).unwrap();
    let name = plugin_yaml["metadata"]["name"].as_str().unwrap();
    assert_eq!(values["configs"]["cmp"]["plugins"][name], plugin_yaml["spec"], "values vs sidecar/plugin.yaml");
    let rendered = h::TempDir::new("helm-plugin");
    let file = rendered.path().join("plugin.yaml");
    h::write_file(
        &file,
        &serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin",
            "metadata": {"name": name}, "spec": values["configs"]["cmp"]["plugins"][name]})
        .to_string(),
    );
    assert_eq!(Plugin::load(&file).unwrap().socket_name(), "spinnaker-krm-v1");

    // The chart adds extraContainers and volumes to its repo-server; put them into the upstream one.
    let mut deployment =
        parse(&h::read_file(&h::root().join("tests/fixtures/argocd/argocd-repo-server-deployment.yaml"))).remove(0);
    let spec = &mut deployment["spec"]["template"]["spec"];
    spec["containers"]
        .as_array_mut()
        .unwrap()
        .extend(values["repoServer"]["extraContainers"].as_array().unwrap().clone());
    spec["volumes"].as_array_mut().unwrap().extend(values["repoServer"]["volumes"].as_array().unwrap().clone());
    let sidecar = named(&spec["containers"], "spinnaker-krm").clone();
    let subpath = sidecar["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == "argocd-cmp-cm").unwrap();
    assert_eq!(subpath["subPath"], format!("{name}.yaml"));
    assert_mounts_resolve(spec);
    assert_valid(&deployment.to_string(), &[], "the repo-server with the Helm values' sidecar");
}

#[test]
fn the_dockerfile_agrees_with_the_manifests() {
    let dockerfile = h::read_file(&h::root().join("sidecar/Dockerfile"));
    let line = |prefix: &str| {
        dockerfile.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line")).to_owned()
    };
    // ArgoCD's own toolchain: the final stage is the ArgoCD image of the user's version (no default), so
    // kustomize, helm, git and the CA certificates are the repo-server's; nothing else is downloaded.
    assert_eq!(line("ARG ARGOCD_VERSION"), "ARG ARGOCD_VERSION", "the ArgoCD version must be given, not defaulted");
    assert_eq!(
        dockerfile.lines().rfind(|l| l.starts_with("FROM ")),
        Some("FROM quay.io/argoproj/argocd:${ARGOCD_VERSION}"),
        "the final stage"
    );
    assert!(!dockerfile.contains("kustomize_v") && !dockerfile.contains("wget"), "a second kustomize is installed");
    assert!(line("FROM ").contains(" AS build"));
    // Where plugin.yaml and generate expect things: /usr/local/bin is on the ArgoCD image's PATH.
    assert!(dockerfile.contains("/spinnaker-krm /usr/local/bin/spinnaker-krm"));
    assert!(dockerfile.contains("sidecar/plugin.yaml /home/argocd/cmp-server/config/plugin.yaml"));
    assert_eq!(line("USER "), "USER 999:999");
    assert_eq!(line("ENTRYPOINT "), r#"ENTRYPOINT ["/var/run/argocd/argocd-cmp-server"]"#);

    // The kustomize Component and the Helm values run the same image, tagged with the ArgoCD version it was
    // built from, with the same env: the build options and helm's writable homes under the sidecar's /tmp.
    let (_tmp, dir) = install_with("sidecar");
    let (_, objects) = build(&dir);
    let from_component = named(&pod(&objects)["containers"], "spinnaker-krm").clone();
    let values: Value = serde_yaml_ng::from_str(&h::read_file(&h::root().join("sidecar/values-argo-cd.yaml"))).unwrap();
    let from_values = named(&values["repoServer"]["extraContainers"], "spinnaker-krm").clone();
    assert_eq!(from_component["image"], from_values["image"]);
    assert!(from_component["image"].as_str().unwrap().contains("-argocd-v"), "the tag names the ArgoCD version");
    assert_eq!(from_component["env"], from_values["env"]);
    let env = |name: &str| named(&from_component["env"], name)["value"].as_str().unwrap().to_owned();
    assert_eq!(env("KUSTOMIZE_BUILD_OPTIONS"), "", "argocd-cm's kustomize.buildOptions goes here");
    for var in ["HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"] {
        assert!(env(var).starts_with("/tmp/"), "{var}: the root filesystem is read-only");
    }
    assert_eq!(from_component["securityContext"]["readOnlyRootFilesystem"], true);
    // The argocd-cm route's init container takes the binary from the same image.
    let (_tmp, dir) = install_with("argocd-cm");
    let (_, objects) = build(&dir);
    let init = named(&pod(&objects)["initContainers"], "install-spinnaker-krm");
    assert_eq!(init["image"], from_component["image"], "argocd-cm/ names another image than sidecar/");
}
