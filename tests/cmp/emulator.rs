//! A stand-in for argocd-cmp-server and the repo-server side of one CMP call, because there is no argocd
//! binary to test against. It follows reference/argocd-cmp.md §8 step by step, each step citing the Argo CD
//! code it mirrors, so a plugin that works here works there for the same reasons:
//!
//! 1. plugin.yaml is read leniently (unknown keys ignored); kind, name and generate.command are enforced
//!    (an args-only generate is refused; an args-only init, find or dynamic command is skipped); the
//!    plugin's name is `<name>-<version>`.
//! 2. The repository is copied into a fresh `_cmp_server/<n>/` per call, minus exclusion globs, files 0644
//!    and dirs 0755 (unless preserveFileMode), symlinks relativised and refused when they escape.
//! 3. The env is the sidecar's own env plus the request entries of §3, in order (`ARGOCD_APP_*`, `KUBE_*`,
//!    `ARGOCD_ENV_<name>` with `os.Expand`, `ARGOCD_APP_PARAMETERS` with sorted keys, `PARAM_*`); a
//!    parameter without a name is sent with `"name":""`.
//! 4. Discovery: fileName glob, `**` glob, or a find command (exit 0 and non-empty stdout), in the app dir;
//!    plugin selection by name (`<name>-<version>`) or by discovery.
//! 5. Commands run without a shell, cwd = app dir, stdin /dev/null, in their own process group, under one
//!    deadline for the whole request (init and generate share it): at the deadline the command gets SIGKILL
//!    at once, its group SIGTERM and SIGKILL 5 s later.
//! 6. A non-zero exit is the error `` `<argv>` failed exit status N: <stderr> ``, wrapped in the prefixes the
//!    UI shows (`ui_prefix`, `ui_command_error`); a caller that gave up first shows only the deadline.
//! 7. stdout is a YAML-or-JSON stream of objects with `kind`; `items` lists are flattened; empty is zero
//!    objects; a response over `ARGOCD_GRPC_MAX_SIZE_MB` (100 MiB) fails. (Scalars are typed by serde_yaml_ng, a YAML 1.2 reader; the tests check YAML 1.1 meaning with
//!    validate.py on the same text.)

use serde_json::{Map, Value};
use spinnaker_krm_tests as h;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `argv = command ++ args` (`AC:cmpserver/plugin/config.go` Command, `plugin.go:87`).
#[derive(Clone, Debug, Default)]
pub struct Cmd {
    pub argv: Vec<String>,
}

impl Cmd {
    /// `None` when `command` is empty, whatever `args` says: cmp-server runs init, dynamic parameters and
    /// the find command only `if len(X.Command) > 0` (`AC:cmpserver/plugin/plugin.go:266,375,429`), so an
    /// args-only command is skipped; `generate` is refused at start-up instead (`config.go:92`).
    fn from(value: Option<&Value>) -> Result<Option<Cmd>, String> {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
        let mut argv = strings(field(value, "command"), "command")?;
        if argv.is_empty() {
            return Ok(None);
        }
        argv.extend(strings(field(value, "args"), "args")?);
        Ok(Some(Cmd { argv }))
    }
}

fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("{what}: not a list of strings")))
            .collect(),
        Some(_) => Err(format!("{what}: not a list of strings")),
    }
}

/// Discovery rules; precedence fileName > find.glob > find.command (`AC:cmpserver/plugin/plugin.go`).
#[derive(Clone, Debug, Default)]
pub struct Discover {
    pub file_name: Option<String>,
    pub glob: Option<String>,
    pub command: Option<Cmd>,
}

impl Discover {
    fn is_configured(&self) -> bool {
        self.file_name.is_some() || self.glob.is_some() || self.command.is_some()
    }
}

/// A loaded plugin.yaml.
#[derive(Clone, Debug)]
pub struct Plugin {
    pub name: String,
    pub version: String,
    pub init: Option<Cmd>,
    pub generate: Cmd,
    pub discover: Discover,
    pub static_parameters: Vec<Value>,
    pub dynamic: Option<Cmd>,
    pub preserve_file_mode: bool,
}

/// A key of a JSON object, matched case-insensitively as Go's encoding/json does.
fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(key).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

impl Plugin {
    /// Step 1: the first YAML document, YAML → JSON → lenient struct decoding, then `ValidatePluginConfig`.
    pub fn load(path: &Path) -> Result<Plugin, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let doc = first_document(&text)?;
        // `ValidatePluginConfig` (`AC:cmpserver/plugin/config.go:85-97`): name, then kind, then generate.command.
        let name = field(&doc, "metadata").and_then(|m| field(m, "name")).and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return Err("invalid plugin configuration file. metadata.name should be non-empty".to_owned());
        }
        let kind = field(&doc, "kind").and_then(Value::as_str).unwrap_or_default();
        if kind != "ConfigManagementPlugin" {
            return Err(format!(
                "invalid plugin configuration file. kind should be ConfigManagementPlugin, found {kind}"
            ));
        }
        let empty = Value::Object(Map::new());
        let spec = field(&doc, "spec").unwrap_or(&empty);
        let generate = Cmd::from(field(spec, "generate"))?
            .ok_or("invalid plugin configuration file. spec.generate command should be non-empty")?;
        let discover = field(spec, "discover").unwrap_or(&empty);
        let find = field(discover, "find").unwrap_or(&empty);
        let parameters = field(spec, "parameters").unwrap_or(&empty);
        Ok(Plugin {
            name: name.to_owned(),
            version: field(spec, "version").and_then(Value::as_str).unwrap_or_default().to_owned(),
            init: Cmd::from(field(spec, "init"))?,
            generate,
            discover: Discover {
                file_name: field(discover, "fileName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                glob: field(find, "glob").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned),
                command: Cmd::from(Some(find))?,
            },
            static_parameters: field(parameters, "static").and_then(Value::as_array).cloned().unwrap_or_default(),
            dynamic: Cmd::from(field(parameters, "dynamic"))?,
            preserve_file_mode: field(spec, "preserveFileMode").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// The socket basename without `.sock`: what an Application's `plugin.name` must say (`config.Address()`).
    pub fn socket_name(&self) -> String {
        if self.version.is_empty() {
            self.name.clone()
        } else {
            format!("{}-{}", self.name, self.version)
        }
    }
}

fn first_document(text: &str) -> Result<Value, String> {
    let doc = yaml_documents(text).into_iter().next().unwrap_or_default();
    serde_yaml_ng::from_str::<Value>(&doc).map_err(|e| format!("error unmarshaling YAML: {e}"))
}

/// `spec.source` of an Application: what the repo-server sends with each request.
#[derive(Clone, Debug)]
pub struct Application {
    pub name: String,
    /// The Application object's own namespace (`argocd` = the control plane's).
    pub namespace: String,
    pub project: String,
    pub repo_url: String,
    pub target_revision: String,
    pub path: String,
    pub destination_namespace: String,
    pub plugin: Option<AppPlugin>,
}

/// `spec.source.plugin`.
#[derive(Clone, Debug, Default)]
pub struct AppPlugin {
    pub name: Option<String>,
    pub env: Vec<(String, String)>,
    /// Each `{name, string | array | map}` as written (JSON).
    pub parameters: Vec<Value>,
}

impl Application {
    pub fn load(path: &Path) -> Result<Application, String> {
        Application::parse(&std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?)
    }

    pub fn parse(text: &str) -> Result<Application, String> {
        let doc = first_document(text)?;
        let get = |path: &[&str]| {
            path.iter().try_fold(&doc, |v, k| v.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        if get(&["kind"]) != "Application" {
            return Err("not an Application".to_owned());
        }
        let plugin = match doc.pointer("/spec/source/plugin") {
            None => None,
            Some(p) => {
                let mut env = Vec::new();
                for e in p.get("env").and_then(Value::as_array).cloned().unwrap_or_default() {
                    let name = e.get("name").and_then(Value::as_str).ok_or("plugin.env[].name must be a string")?;
                    let value = e.get("value").and_then(Value::as_str).unwrap_or_default();
                    env.push((name.to_owned(), value.to_owned()));
                }
                let mut parameters = p.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                for param in &mut parameters {
                    check_parameter(param)?;
                }
                let name = p.get("name").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
                Some(AppPlugin { name, env, parameters })
            }
        };
        Ok(Application {
            name: get(&["metadata", "name"]),
            namespace: Some(get(&["metadata", "namespace"])).filter(|s| !s.is_empty()).unwrap_or("argocd".to_owned()),
            project: get(&["spec", "project"]),
            repo_url: get(&["spec", "source", "repoURL"]),
            target_revision: get(&["spec", "source", "targetRevision"]),
            path: get(&["spec", "source", "path"]),
            destination_namespace: get(&["spec", "destination", "namespace"]),
            plugin,
        })
    }

    /// `app.InstanceName(controllerNs)`: the name, or `<namespace>_<name>` outside the control plane's
    /// namespace (`AC:pkg/apis/application/v1alpha1/types.go`); `ARGOCD_APP_NAME` and the error prefix use it.
    pub fn instance_name(&self) -> String {
        if self.namespace == "argocd" {
            self.name.clone()
        } else {
            format!("{}_{}", self.namespace, self.name)
        }
    }

    /// This Application with `parameters` as its plugin parameters (YAML flow or block list text).
    pub fn with_parameters(&self, parameters: &str) -> Application {
        let list: Value = serde_yaml_ng::from_str(parameters).expect("parameters YAML");
        let mut list = list.as_array().expect("a list of parameters").clone();
        for p in &mut list {
            check_parameter(p).expect("a valid parameter");
        }
        let mut app = self.clone();
        app.plugin.get_or_insert_with(AppPlugin::default).parameters = list;
        app
    }
}

/// The Application CRD's types: `name` a string, `string` a string, `array` strings, `map` string values.
/// `name` is optional (`json:"name,omitempty"`, `types.go:1028`): a parameter without one is sent with
/// `"name":""` (`MarshalJSON` always writes it, `types.go:1055`) and as `PARAM_<...>` with an empty name.
fn check_parameter(p: &mut Value) -> Result<(), String> {
    if p.get("name").is_some_and(|n| !n.is_string()) {
        return Err(format!("plugin parameter {p}: name must be a string"));
    }
    if let Some(object) = p.as_object_mut() {
        object.entry("name").or_insert_with(|| Value::from(""));
    }
    let p = &*p;
    let bad = |what: &str| Err(format!("plugin parameter {p}: {what}"));
    if p.get("string").is_some_and(|s| !s.is_string()) {
        return bad("string must be a string (quote it)");
    }
    if p.get("array").is_some_and(|a| !a.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
        return bad("array must be a list of strings");
    }
    if p.get("map").is_some_and(|m| !m.as_object().is_some_and(|m| m.values().all(Value::is_string))) {
        return bad("map values must be strings");
    }
    Ok(())
}

/// What one generation produced.
#[derive(Debug)]
pub struct Generated {
    /// The objects ArgoCD would apply, in order.
    pub objects: Vec<Value>,
    /// The raw stdout (for checkers that read YAML 1.1).
    pub stdout: String,
    /// What the plugin logged (only the sidecar log sees it on success).
    pub stderr: String,
}

/// One CMP sidecar: its plugin.yaml, its own env, and the repo-server settings that shape a request.
pub struct Sidecar {
    pub plugin: Plugin,
    /// The sidecar container's env (ours, not the test process's: nothing leaks in).
    pub base_env: Vec<(String, String)>,
    /// The caller's deadline for the whole request (`controller.repo.server.timeout.seconds`, 60 s): the
    /// copy, init and generate share it, and cmp-server stops 100 ms before it (`plugin.go:40,220`).
    pub timeout: Duration,
    /// `reposerver.plugin.tar.exclusions`.
    pub exclusions: Vec<String>,
    /// Argo CD < 3.0 dropped request env entries with empty values.
    pub drop_empty_env: bool,
    /// `ARGOCD_GRPC_MAX_SIZE_MB` (100): the largest ManifestResponse cmp-server sends
    /// (`AC:cmpserver/apiclient/clientset.go:22`, `cmpserver/server.go:66-67`).
    pub max_message_mb: usize,
    workdir: h::TempDir,
}

/// A commit SHA for `ARGOCD_APP_REVISION`.
pub const REVISION: &str = "4f0c7b5c0a1d2e3f405162738495a6b7c8d9e0f1";
pub const KUBE_VERSION: &str = "1.33.0";
pub const KUBE_API_VERSIONS: &str = "apps/v1,apps/v1/Deployment,cert-manager.io/v1,cert-manager.io/v1/Certificate,\
cert-manager.io/v1/ClusterIssuer,spinnaker.io/v1alpha2,spinnaker.io/v1alpha2/SpinnakerService,\
trust.cert-manager.io/v1alpha1,trust.cert-manager.io/v1alpha1/Bundle,v1,v1/ConfigMap,v1/Secret,v1/Service";

/// `cmpTimeoutBuffer` (`AC:cmpserver/plugin/plugin.go:40`).
const CMP_TIMEOUT_BUFFER: Duration = Duration::from_millis(100);

/// Where a generation failed, which decides the prefixes the UI shows.
enum Failed {
    /// In the repo-server, before or after the cmp-server call (plugin selection, `kube.SplitYAML`).
    RepoServer(String),
    /// Returned by cmp-server's GenerateManifest handler: a gRPC status with this code and message.
    Cmp(&'static str, String),
}

/// The message of the Application's ComparisonError condition, as the UI shows it, around the repo-server's
/// own text: `controller/state.go:749` ("Failed to load target state: "), `:421` ("failed to generate
/// manifest for source 1 of 1: "), the gRPC status of the repo-server call, and
/// `reposerver/repository/repository.go:1795` (`CMP processing failed for application "<app>": `).
pub fn ui_prefix(app: &Application) -> String {
    format!(
        "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = CMP processing failed for application \"{}\": ",
        app.instance_name()
    )
}

/// What the UI shows when `generate` (or `init`) fails with `cmd_error` (`CmdError`): `ui_prefix` plus
/// `repository.go:2399` ("error generating manifests in cmp: "), the cmp-server call's gRPC status and
/// `plugin.go:243` ("error generating manifests: ").
pub fn ui_command_error(app: &Application, cmd_error: &str) -> String {
    format!(
        "{}error generating manifests in cmp: rpc error: code = Unknown desc = error generating manifests: {cmd_error}",
        ui_prefix(app)
    )
}

impl Sidecar {
    pub fn new(plugin: Plugin, base_env: Vec<(String, String)>) -> Sidecar {
        Sidecar {
            plugin,
            base_env,
            timeout: Duration::from_secs(60),
            exclusions: Vec::new(),
            drop_empty_env: false,
            max_message_mb: 100,
            workdir: h::TempDir::new("cmp-workdir"),
        }
    }

    /// `GenerateManifest`: copy, select the plugin, run init then generate, parse the output. An error is
    /// the text of the Application's condition in the UI.
    pub fn generate(&self, repo: &Path, app: &Application) -> Result<Generated, String> {
        let deadline = Instant::now() + self.timeout;
        let result = self.request(repo, app, deadline);
        if Instant::now() >= deadline {
            // The controller's own call gave up first, whatever cmp-server answers later: all the UI gets is
            // the deadline (argo-cd#9695).
            return Err(
                "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = DeadlineExceeded desc = context deadline exceeded"
                    .to_owned(),
            );
        }
        result.map_err(|failed| match failed {
            Failed::RepoServer(message) => format!("{}{message}", ui_prefix(app)),
            Failed::Cmp(code, message) => format!(
                "{}error generating manifests in cmp: rpc error: code = {code} desc = {message}",
                ui_prefix(app)
            ),
        })
    }

    fn request(&self, repo: &Path, app: &Application, deadline: Instant) -> Result<Generated, Failed> {
        let (root, app_dir) = self.extract(repo, app).map_err(Failed::RepoServer)?;
        let env = self.env(app, EnvFor::Generate);
        self.select(&app_dir, app, &env, deadline).map_err(Failed::RepoServer)?;
        // One context for the whole GenerateManifest call (`plugin.go:220`): init and generate share it.
        let cmp_deadline = deadline - CMP_TIMEOUT_BUFFER;
        let generate_error = |e: String| Failed::Cmp("Unknown", format!("error generating manifests: {e}"));
        if let Some(init) = &self.plugin.init {
            self.run(init, &app_dir, &env, cmp_deadline).map_err(generate_error)?;
        }
        let (stdout, stderr) = self.run(&self.plugin.generate, &app_dir, &env, cmp_deadline).map_err(generate_error)?;
        let _ = std::fs::remove_dir_all(root);
        let stdout = stdout.strip_suffix('\n').unwrap_or(&stdout).to_owned();
        // cmp-server: `kube.SplitYAMLToString` (`plugin.go:278`), each document re-encoded as JSON.
        let documents = split_documents(&stdout).map_err(generate_error)?;
        // The response travels as one gRPC message: `repeated string manifests = 1`, each string
        // costing a tag byte, a varint length and the JSON. Over the cap, SendAndClose fails
        // (`plugin.go:248-250`) with grpc-go's ResourceExhausted status (server.go sendResponse: "grpc:
        // trying to send message larger than max (%d vs. %d)", the encoded, uncompressed payload), wrapped
        // (status.FromError keeps the code and takes the whole text as the message).
        let size: usize = documents.iter().map(|d| 1 + varint_len(d.len()) + d.len()).sum();
        let max = self.max_message_mb * 1024 * 1024;
        if size > max {
            return Err(Failed::Cmp(
                "ResourceExhausted",
                format!(
                    "error sending manifest response: rpc error: code = ResourceExhausted desc = grpc: trying to send message larger than max ({size} vs. {max})"
                ),
            ));
        }
        // repo-server: `kube.SplitYAML` per string (`repository.go:2402-2411`), then List flattening.
        let objects = parse_objects(&stdout)
            .map_err(|e| Failed::RepoServer(format!("failed to convert CMP manifests to unstructured objects: {e}")))?;
        Ok(Generated { objects, stdout, stderr })
    }

    /// `GetParametersAnnouncement`: dynamic (JSON array, Go types) ++ static.
    pub fn parameters(&self, repo: &Path, app: &Application) -> Result<Vec<Value>, String> {
        let (root, app_dir) = self.extract(repo, app)?;
        let env = self.env(app, EnvFor::Announcement);
        let deadline = Instant::now() + self.timeout;
        self.select(&app_dir, app, &env, deadline)?;
        let mut announced = Vec::new();
        if let Some(dynamic) = &self.plugin.dynamic {
            let (stdout, _) = self.run(dynamic, &app_dir, &env, deadline - CMP_TIMEOUT_BUFFER)?;
            let list: Value = serde_json::from_str(&stdout).map_err(|e| {
                format!("error unmarshaling dynamic parameter output into ParametersAnnouncementResponse: {e}")
            })?;
            let list = list.as_array().ok_or("dynamic parameter output is not a JSON array")?;
            for a in list {
                check_announcement(a)?;
            }
            announced.extend(list.iter().cloned());
        }
        announced.extend(self.plugin.static_parameters.iter().cloned());
        let _ = std::fs::remove_dir_all(root);
        Ok(announced)
    }

    /// Step 2: a fresh copy of the repository; returns (extraction root, app dir).
    fn extract(&self, repo: &Path, app: &Application) -> Result<(PathBuf, PathBuf), String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let root = self.workdir.path().join("_cmp_server").join(CALLS.fetch_add(1, Ordering::SeqCst).to_string());
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        self.copy_tree(repo, repo, &root)?;
        let app_dir =
            safe_join(&root, &app.path).ok_or_else(|| format!("app path {:?} escapes the repository", app.path))?;
        if !app_dir.is_dir() {
            return Err(format!("app path {:?} does not exist in the repository", app.path));
        }
        Ok((root, app_dir))
    }

    fn copy_tree(&self, repo: &Path, dir: &Path, root: &Path) -> Result<(), String> {
        let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(|e| e.to_string())?.map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path.strip_prefix(repo).unwrap();
            let rel_str = rel.to_string_lossy();
            if self.exclusions.iter().any(|g| glob_match(g, &rel_str)) {
                continue;
            }
            let target = root.join(rel);
            let meta = std::fs::symlink_metadata(&path).map_err(|e| e.to_string())?;
            let file_type = meta.file_type();
            if file_type.is_symlink() {
                let link = std::fs::read_link(&path).map_err(|e| e.to_string())?;
                let resolved = if link.is_absolute() { link.clone() } else { path.parent().unwrap().join(&link) };
                let inside = normalize(&resolved);
                let Ok(within) = inside.strip_prefix(normalize(repo)) else {
                    return Err(format!("illegal filepath in symlink: {}", rel_str));
                };
                let depth = rel.components().count() - 1;
                let relative: PathBuf = std::iter::repeat_n(Path::new(".."), depth).collect::<PathBuf>().join(within);
                std::os::unix::fs::symlink(relative, &target).map_err(|e| e.to_string())?;
            } else if file_type.is_dir() {
                std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
                self.copy_tree(repo, &path, root)?;
                let mode = if self.plugin.preserve_file_mode { meta.permissions().mode() & 0o777 } else { 0o755 };
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
            } else if file_type.is_file() {
                std::fs::copy(&path, &target).map_err(|e| e.to_string())?;
                let mode = if self.plugin.preserve_file_mode { meta.permissions().mode() & 0o777 } else { 0o644 };
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
            }
            // Sockets, fifos and devices are not sent.
        }
        Ok(())
    }

    /// Step 3: base env ++ request entries (`getPluginEnvs` / `populatePluginAppDetails`).
    fn env(&self, app: &Application, purpose: EnvFor) -> Vec<(String, String)> {
        let instance = app.instance_name();
        let build: Vec<(&str, String)> = match purpose {
            EnvFor::Generate => vec![
                ("ARGOCD_APP_NAME", instance),
                ("ARGOCD_APP_NAMESPACE", app.destination_namespace.clone()),
                ("ARGOCD_APP_PROJECT_NAME", app.project.clone()),
                ("ARGOCD_APP_REVISION", REVISION.to_owned()),
                ("ARGOCD_APP_REVISION_SHORT", REVISION[..7].to_owned()),
                ("ARGOCD_APP_REVISION_SHORT_8", REVISION[..8].to_owned()),
                ("ARGOCD_APP_SOURCE_REPO_URL", app.repo_url.clone()),
                ("ARGOCD_APP_SOURCE_PATH", app.path.clone()),
                ("ARGOCD_APP_SOURCE_TARGET_REVISION", app.target_revision.clone()),
                ("KUBE_VERSION", KUBE_VERSION.to_owned()),
                ("KUBE_API_VERSIONS", KUBE_API_VERSIONS.to_owned()),
            ],
            EnvFor::Announcement => vec![
                ("ARGOCD_APP_NAME", instance),
                ("ARGOCD_APP_SOURCE_REPO_URL", app.repo_url.clone()),
                ("ARGOCD_APP_SOURCE_PATH", app.path.clone()),
                ("ARGOCD_APP_SOURCE_TARGET_REVISION", app.target_revision.clone()),
            ],
        };
        let mut request: Vec<(String, String)> = build.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        if let Some(plugin) = &app.plugin {
            for (name, value) in &plugin.env {
                request.push((format!("ARGOCD_ENV_{name}"), os_expand(value, &build)));
            }
            let parameters = if plugin.parameters.is_empty() {
                "null".to_owned()
            } else {
                // serde_json's Map is ordered by key, like Go's json.Marshal of a map[string]any.
                Value::Array(plugin.parameters.clone()).to_string()
            };
            request.push(("ARGOCD_APP_PARAMETERS".to_owned(), parameters));
            for p in &plugin.parameters {
                let name = escaped(p["name"].as_str().unwrap_or_default());
                if let Some(s) = p.get("string").and_then(Value::as_str) {
                    request.push((format!("PARAM_{name}"), s.to_owned()));
                }
                for (k, v) in p.get("map").and_then(Value::as_object).into_iter().flatten() {
                    request.push((format!("PARAM_{name}_{}", escaped(k)), v.as_str().unwrap_or_default().to_owned()));
                }
                for (i, v) in p.get("array").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    request.push((format!("PARAM_{name}_{i}"), v.as_str().unwrap_or_default().to_owned()));
                }
            }
        }
        if self.drop_empty_env {
            request.retain(|(_, v)| !v.is_empty());
        }
        let mut env = self.base_env.clone();
        env.extend(request);
        env
    }

    /// Step 4 and §2.4: the plugin serves this app by name, or by discovery.
    fn select(
        &self,
        app_dir: &Path,
        app: &Application,
        env: &[(String, String)],
        deadline: Instant,
    ) -> Result<(), String> {
        let wanted = app.plugin.as_ref().and_then(|p| p.name.clone());
        match wanted {
            Some(name) if name != self.plugin.socket_name() => {
                Err(format!("could not find cmp-server plugin with name \"{name}\" supporting the given repository"))
            }
            Some(name) if self.plugin.discover.is_configured() && !self.discovers(app_dir, env, deadline)? => {
                Err(format!("could not find cmp-server plugin with name \"{name}\" supporting the given repository"))
            }
            Some(_) => Ok(()),
            None if self.plugin.discover.is_configured() && self.discovers(app_dir, env, deadline)? => Ok(()),
            None => Err("could not find plugin supporting the given repository".to_owned()),
        }
    }

    fn discovers(&self, app_dir: &Path, env: &[(String, String)], deadline: Instant) -> Result<bool, String> {
        let d = &self.plugin.discover;
        if let Some(pattern) = &d.file_name {
            // filepath.Glob(filepath.Join(appPath, fileName)): no `**`.
            return Ok(!find_matches(app_dir, pattern, false).is_empty());
        }
        if let Some(pattern) = &d.glob {
            return Ok(!find_matches(app_dir, pattern, true).is_empty());
        }
        if let Some(command) = &d.command {
            let (stdout, _) = self
                .run(command, app_dir, env, deadline - CMP_TIMEOUT_BUFFER)
                .map_err(|e| format!("error running find command: {e}"))?;
            return Ok(!stdout.trim().is_empty());
        }
        Ok(false)
    }

    /// Steps 5 and 6 (`runCommand`, `AC:cmpserver/plugin/plugin.go:80-156`), under the request's context,
    /// which ends at `deadline`.
    fn run(
        &self,
        cmd: &Cmd,
        dir: &Path,
        env: &[(String, String)],
        deadline: Instant,
    ) -> Result<(String, String), String> {
        let argv_text = quoted_argv(&cmd.argv);
        let program = resolve(&cmd.argv[0], env, dir)
            .map_err(|e| format!("`{argv_text}` failed: exec: \"{}\": {e}", cmd.argv[0]))?;
        let mut child = Command::new(program)
            .args(&cmd.argv[1..])
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("`{argv_text}` failed: {e}"))?;
        let pgid = child.id();
        let read = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                String::from_utf8_lossy(&bytes).into_owned()
            })
        };
        let out = read(Box::new(child.stdout.take().unwrap()));
        let err = read(Box::new(child.stderr.take().unwrap()));
        let mut status = None;
        let mut cancelled_at: Option<Instant> = None;
        let mut group_killed = false;
        // Go's cmd.Wait returns once the child has exited and both pipes are closed (no WaitDelay is set),
        // so a grandchild holding stdout keeps the request open.
        loop {
            if status.is_none() {
                status = child.try_wait().map_err(|e| e.to_string())?;
            }
            if status.is_some() && out.is_finished() && err.is_finished() {
                break;
            }
            let now = Instant::now();
            match cancelled_at {
                None if now >= deadline => {
                    // exec.CommandContext (`plugin.go:87`): when the context ends, Go kills the child at
                    // once with SIGKILL (Cmd.Cancel defaults to Process.Kill), so it gets no chance to clean
                    // up; the goroutine of `plugin.go:116-129` sends SIGTERM to the process group and
                    // SIGKILL 5 s later, for the grandchildren.
                    let _ = child.kill();
                    signal_group(pgid, "TERM");
                    cancelled_at = Some(now);
                }
                Some(at) if !group_killed && now - at >= Duration::from_secs(5) => {
                    signal_group(pgid, "KILL");
                    group_killed = true;
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let status = status.expect("the child has exited");
        let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
        if !status.success() {
            // `CmdError.Error()` (`plugin.go:164-170`): "`<argv>` failed <ExitError>", then ": <stderr>" only
            // when stderr is not empty. Go's ExitError reads "exit status N" or "signal: killed".
            let cause = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(9)) => "signal: killed".to_owned(),
                (None, Some(15)) => "signal: terminated".to_owned(),
                (None, signal) => format!("signal: {}", signal.unwrap_or(0)),
            };
            let stderr = stderr.trim();
            return Err(if stderr.is_empty() {
                format!("`{argv_text}` failed {cause}")
            } else {
                format!("`{argv_text}` failed {cause}: {stderr}")
            });
        }
        Ok((stdout, stderr))
    }
}

/// The length of a protobuf varint.
fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

#[derive(Clone, Copy)]
enum EnvFor {
    Generate,
    Announcement,
}

/// Go's `exec.LookPath` with the cmp-server's PATH (the sidecar env); a name with `/` is taken as is
/// (relative to the command's directory).
fn resolve(name: &str, env: &[(String, String)], dir: &Path) -> Result<PathBuf, String> {
    if name.contains('/') {
        return Ok(dir.join(name));
    }
    let path = env.iter().rev().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str()).unwrap_or_default();
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|c| c.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .ok_or_else(|| "executable file not found in $PATH".to_owned())
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill").args(["-s", signal, "--", &format!("-{pgid}")]).stderr(Stdio::null()).status();
}

/// `CmdError`'s argv (`GetCommandArgsToLog`, `AC:util/exec/exec.go:79-102`): an empty argument as `""`, one
/// with white space `strconv.Quote`d (Rust's `{:?}` agrees for ASCII), the rest as is.
fn quoted_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| if a.is_empty() || a.chars().any(char::is_whitespace) { format!("{a:?}") } else { a.clone() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// ArgoCD's `escaped`: upper case, then `[^A-Z0-9_]` → `_`.
pub fn escaped(s: &str) -> String {
    s.to_uppercase()
        .chars()
        .map(|c| if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' { c } else { '_' })
        .collect()
}

/// Go's `os.Expand` over the build env: `$X` and `${X}`; unknown names are empty; `$$` is `$`.
pub fn os_expand(s: &str, vars: &[(&str, String)]) -> String {
    // ArgoCD's mapping answers `$` for `$$` (types.go Envsubst), anything unknown with "".
    let lookup = |name: &str| match name {
        "$" => "$".to_owned(),
        _ => vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default(),
    };
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let rest = &s[i + 1..];
        if let Some(inner) = rest.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if end > 0 => {
                    out.push_str(&lookup(&inner[..end]));
                    i += 3 + end;
                }
                // Go: a bad `${` syntax eats the `${` and what follows up to the brace.
                Some(end) => i += 3 + end,
                None => i = bytes.len(),
            }
        } else if rest.starts_with(|c: char| "*#$@!?-0123456789".contains(c)) {
            out.push_str(&lookup(&rest[..1]));
            i += 2;
        } else {
            let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            if len == 0 {
                // Go drops a lone `$` followed by an invalid name character.
                i += 1;
            } else {
                out.push_str(&lookup(&rest[..len]));
                i += 1 + len;
            }
        }
    }
    out
}

/// Step 7 (`kube.SplitYAMLToString` + `kube.SplitYAML` + `GenerateManifests`' List flattening).
pub fn parse_objects(stdout: &str) -> Result<Vec<Value>, String> {
    let mut objects = Vec::new();
    for doc in decode_documents(stdout)? {
        let Some(map) = doc.as_object() else {
            return Err(format!("failed to unmarshal manifest: cannot unmarshal {} into an object", short(&doc)));
        };
        if map.get("kind").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(format!("Object 'Kind' is missing in '{}'", short(&doc)));
        }
        match map.get("items") {
            Some(Value::Array(items)) => objects.extend(items.iter().cloned()),
            Some(Value::Null) => {}
            _ => objects.push(doc),
        }
    }
    Ok(objects)
}

/// The documents of a YAML-or-JSON stream, `null` and empty ones skipped (apimachinery's
/// `NewYAMLOrJSONDecoder`).
fn decode_documents(stdout: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = if stdout.trim_start().starts_with('{') {
        let json: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(stdout).into_iter::<Value>().collect();
        match json {
            Ok(docs) if docs.len() > 1 => docs,
            _ => yaml_values(stdout)?,
        }
    } else {
        yaml_values(stdout)?
    };
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// cmp-server's `kube.SplitYAMLToString`: each document as JSON text, the strings of the response.
fn split_documents(stdout: &str) -> Result<Vec<String>, String> {
    Ok(decode_documents(stdout)?.iter().map(Value::to_string).collect())
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!("{}...", &s[..200])
    } else {
        s
    }
}

fn yaml_values(text: &str) -> Result<Vec<Value>, String> {
    yaml_documents(text)
        .iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml_ng::from_str::<Value>(d).map_err(|e| format!("failed to unmarshal manifest: {e}")))
        .collect()
}

/// apimachinery's YAMLReader: a line starting with `---` followed by nothing but spaces or a comment
/// separates documents.
pub fn yaml_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if rest.is_empty() || rest.starts_with('#') {
                docs.push(String::new());
                continue;
            }
        }
        docs.last_mut().unwrap().push_str(line);
    }
    docs
}

/// A ParameterAnnouncement as Go's json.Unmarshal would accept it (unknown fields ignored).
fn check_announcement(a: &Value) -> Result<(), String> {
    let bad = |what: &str| Err(format!("error unmarshaling dynamic parameter output: {what} in {a}"));
    let Some(obj) = a.as_object() else { return bad("not an object") };
    for key in ["name", "title", "tooltip", "itemType", "collectionType", "string"] {
        if obj.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return bad(&format!("{key} is not a string"));
        }
    }
    if obj.get("required").is_some_and(|v| !v.is_boolean() && !v.is_null()) {
        return bad("required is not a bool");
    }
    if obj.get("array").is_some_and(|v| !v.is_null() && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
        return bad("array is not a list of strings");
    }
    if obj.get("map").is_some_and(|v| !v.is_null() && !v.as_object().is_some_and(|m| m.values().all(Value::is_string)))
    {
        return bad("map is not a map of strings");
    }
    Ok(())
}

/// `filepath.Join(root, rel)` that must stay inside root (securejoin).
fn safe_join(root: &Path, rel: &str) -> Option<PathBuf> {
    let joined = normalize(&root.join(rel.trim_start_matches('/')));
    joined.starts_with(root).then_some(joined)
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Files and dirs under `dir` whose path relative to it matches `pattern` (`./` prefix allowed).
/// With `double_star`, a `**` segment matches any number of directories (zglob).
fn find_matches(dir: &Path, pattern: &str, double_star: bool) -> Vec<PathBuf> {
    let pattern = pattern.trim_start_matches("./");
    let mut all = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if path.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    walk(dir, dir, &mut all);
    all.into_iter()
        .filter(|rel| if double_star { zglob_match(pattern, rel) } else { glob_match(pattern, rel) })
        .map(|rel| dir.join(rel))
        .collect()
}

fn zglob_match(pattern: &str, path: &str) -> bool {
    fn segments(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segments(&p[1..], s) || (!s.is_empty() && segments(p, &s[1..])),
            (Some(pat), Some(seg)) => glob_match(pat, seg) && segments(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    segments(&p, &s)
}

/// Go's `filepath.Match`: `*` (not across `/`), `?`, `[...]` classes with ranges and `^`, `\` escapes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn m(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).take_while(|&i| i == 0 || n[i - 1] != '/').any(|i| m(&p[1..], &n[i..])),
            Some('?') => n.first().is_some_and(|c| *c != '/') && m(&p[1..], &n[1..]),
            Some('[') => {
                let Some(c) = n.first() else { return false };
                let Some(end) = p.iter().skip(1).position(|x| *x == ']').map(|i| i + 1) else { return false };
                let class = &p[1..end];
                let (negate, class) = match class.first() {
                    Some('^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= *c && *c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == *c;
                        i += 1;
                    }
                }
                hit != negate && *c != '/' && m(&p[end + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && m(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && m(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n)
}

// ---------------------------------------------------------------------------------------------------------
// The emulator's own tests: each rule of §8 can fail, for the reason ArgoCD would fail.

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {value: '%s'}\n";

    /// A repository with one app dir `app/` and a plugin whose generate is `argv`.
    fn setup(argv: &[&str], extra: &str) -> (h::TempDir, Sidecar, Application) {
        let repo = h::TempDir::new("emulator-repo");
        h::write_file(&repo.path().join("app/marker.yaml"), "x: 1\n");
        let list = argv.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ");
        let plugin_file = repo.path().join("plugin.yaml");
        h::write_file(
            &plugin_file,
            &format!("apiVersion: argoproj.io/v1alpha1\nkind: ConfigManagementPlugin\nmetadata: {{name: t}}\nspec:\n  version: v1\n  generate: {{command: [{list}]}}\n  unknownKey: ignored\n{extra}"),
        );
        let plugin = Plugin::load(&plugin_file).unwrap();
        let sidecar = Sidecar::new(plugin, vec![("PATH".to_owned(), "/usr/bin:/bin".to_owned())]);
        let app = Application::parse(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: orders, namespace: team-a}\nspec:\n  project: p\n  source:\n    repoURL: https://git.example.com/r.git\n    targetRevision: main\n    path: app\n    plugin:\n      name: t-v1\n      env:\n      - {name: PIPELINE, value: 'orders-$ARGOCD_APP_NAME-${ARGOCD_APP_REVISION_SHORT}-$$-$NOPE'}\n      parameters:\n      - {name: target-account, string: prod-k8s}\n      - {name: labels, map: {team.name: core}}\n      - {name: strip-kinds, array: [Job]}\n  destination: {namespace: orders}\n",
        )
        .unwrap();
        (repo, sidecar, app)
    }

    #[test]
    fn commands_run_without_a_shell_with_stdin_dev_null_in_the_app_dir() {
        // `$HOME` is not expanded: there is no shell unless the plugin asks for one.
        let format = CONFIG_MAP.replace("%s", "a").replace("'a'", "'$HOME'");
        let (repo, sidecar, app) = setup(&["printf", &format], "");
        let out = sidecar.generate(repo.path(), &app).unwrap();
        assert_eq!(out.objects[0]["data"]["value"], "$HOME");
        // stdin is /dev/null, cwd is the app dir of the fresh copy (`_cmp_server/<n>/app`).
        let script = "printf \"$0\" x \"stdin=$(readlink /proc/self/fd/0) cwd=$(basename $PWD) copy=$(basename $(dirname $(dirname $PWD)))\"";
        let (repo, sidecar, app) = setup(&["sh", "-c", script, CONFIG_MAP], "");
        let out = sidecar.generate(repo.path(), &app).unwrap();
        assert_eq!(out.objects[0]["data"]["value"], "stdin=/dev/null cwd=app copy=_cmp_server");
    }

    #[test]
    fn repository_files_lose_their_exec_bit_unless_preserve_file_mode() {
        let (repo, sidecar, app) = setup(&["./gen.sh"], "");
        let script = repo.path().join("app/gen.sh");
        h::write_file(&script, &format!("#!/bin/sh\nprintf \"{}\" g v\n", CONFIG_MAP));
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = sidecar.generate(repo.path(), &app).unwrap_err();
        assert!(err.contains("error generating manifests: `./gen.sh` failed"), "{err}");
        let (_, preserving, _) = setup(&["./gen.sh"], "  preserveFileMode: true\n");
        assert_eq!(preserving.generate(repo.path(), &app).unwrap().objects.len(), 1);
    }

    #[test]
    fn the_env_is_the_sidecars_plus_the_request_entries() {
        let (_repo, sidecar, app) = setup(&["true"], "");
        let env = sidecar.env(&app, EnvFor::Generate);
        let get = |k: &str| env.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("PATH").unwrap(), "/usr/bin:/bin");
        assert_eq!(get("ARGOCD_APP_NAME").unwrap(), "team-a_orders", "apps outside argocd are <ns>_<name>");
        assert_eq!(get("ARGOCD_APP_NAMESPACE").unwrap(), "orders");
        assert_eq!(get("ARGOCD_ENV_PIPELINE").unwrap(), "orders-team-a_orders-4f0c7b5-$-");
        assert_eq!(get("PARAM_TARGET_ACCOUNT").unwrap(), "prod-k8s");
        assert_eq!(get("PARAM_LABELS_TEAM_NAME").unwrap(), "core");
        assert_eq!(get("PARAM_STRIP_KINDS_0").unwrap(), "Job");
        assert_eq!(
            get("ARGOCD_APP_PARAMETERS").unwrap(),
            r#"[{"name":"target-account","string":"prod-k8s"},{"map":{"team.name":"core"},"name":"labels"},{"array":["Job"],"name":"strip-kinds"}]"#
        );
        assert!(get("HOME").is_none(), "nothing leaks from the test process");
        let announce = sidecar.env(&app, EnvFor::Announcement);
        assert!(!announce.iter().any(|(k, _)| k == "ARGOCD_APP_NAMESPACE" || k == "KUBE_VERSION"));
    }

    #[test]
    fn failures_carry_the_prefixes_the_ui_shows() {
        let (repo, mut sidecar, app) = setup(&["sh", "-c", "echo 'bad thing' >&2; exit 3"], "");
        assert_eq!(
            sidecar.generate(repo.path(), &app).unwrap_err(),
            "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = \
             CMP processing failed for application \"team-a_orders\": error generating manifests in cmp: rpc error: \
             code = Unknown desc = error generating manifests: `sh -c \"echo 'bad thing' >&2; exit 3\"` failed exit status 3: bad thing"
        );
        // No stderr, no ": " after the exit status (CmdError.Error()).
        sidecar.plugin.generate.argv = vec!["false".into()];
        assert!(sidecar.generate(repo.path(), &app).unwrap_err().ends_with("`false` failed exit status 1"));
        sidecar.plugin.generate.argv = vec!["no-such-binary".into()];
        assert!(sidecar.generate(repo.path(), &app).unwrap_err().contains("executable file not found in $PATH"));
        // What the repo-server refuses is wrapped once, without the cmp-server part.
        sidecar.plugin.generate.argv = vec!["echo".into(), "a: 1".into()];
        let err = sidecar.generate(repo.path(), &app).unwrap_err();
        assert!(
            err.strip_prefix(&ui_prefix(&app)).is_some_and(|rest| rest
                .starts_with("failed to convert CMP manifests to unstructured objects: Object 'Kind' is missing")),
            "{err}"
        );
    }

    #[test]
    fn init_and_generate_share_one_deadline() {
        // Each command alone fits in the deadline, both together do not.
        let (repo, mut sidecar, app) =
            setup(&["sh", "-c", "sleep 0.4; echo kind: A"], "  init: {command: [sleep, '0.4']}\n");
        sidecar.timeout = Duration::from_millis(600);
        let err = sidecar.generate(repo.path(), &app).unwrap_err();
        assert!(
            err.ends_with("error generating manifests: `sh -c \"sleep 0.4; echo kind: A\"` failed signal: killed"),
            "{err}"
        );
        sidecar.plugin.init = None;
        assert_eq!(sidecar.generate(repo.path(), &app).unwrap().objects.len(), 1);
    }

    #[test]
    fn a_timed_out_command_is_killed_at_once_and_its_group_after_5_s() {
        // The child gets SIGKILL at once: its TERM trap never runs.
        let script = "trap 'echo cleaned-up >&2; exit 0' TERM; sleep 30 & wait";
        let (repo, mut sidecar, app) = setup(&["sh", "-c", script], "");
        sidecar.timeout = Duration::from_millis(400);
        let started = Instant::now();
        let err = sidecar.generate(repo.path(), &app).unwrap_err();
        // (Had the trap run, the exit would be 0, or stderr "cleaned-up" would follow the cause.)
        assert!(err.ends_with("failed signal: killed"), "the child ran its TERM handler: {err}");
        assert!(started.elapsed() < Duration::from_secs(3), "the group's sleep was not terminated");
        // A grandchild that ignores SIGTERM holds stdout until the group's SIGKILL 5 s later; by then the
        // controller's call is over and all the UI shows is the deadline.
        let script = "sh -c 'trap \"\" TERM; sleep 30' & sleep 30";
        sidecar.plugin.generate.argv = vec!["sh".into(), "-c".into(), script.into()];
        let started = Instant::now();
        let err = sidecar.generate(repo.path(), &app).unwrap_err();
        assert!(started.elapsed() >= Duration::from_secs(5), "the stubborn grandchild was not waited for");
        assert_eq!(
            err,
            "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = DeadlineExceeded desc = context deadline exceeded"
        );
    }

    #[test]
    fn a_response_over_the_grpc_cap_fails() {
        // 2 MiB of output against ARGOCD_GRPC_MAX_SIZE_MB=1 (the default is 100).
        let script = "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: big}\\ndata: {value: '; head -c 2097152 /dev/zero | tr '\\0' x; printf '}\\n'";
        let (repo, mut sidecar, app) = setup(&["sh", "-c", script], "");
        assert_eq!(sidecar.generate(repo.path(), &app).unwrap().objects.len(), 1, "under 100 MiB it passes");
        sidecar.max_message_mb = 1;
        let err = sidecar.generate(repo.path(), &app).unwrap_err();
        assert!(
            err.contains("error generating manifests in cmp: rpc error: code = ResourceExhausted desc = error sending manifest response: rpc error: code = ResourceExhausted desc = grpc: trying to send message larger than max (")
                && err.ends_with(" vs. 1048576)"),
            "{err}"
        );
    }

    #[test]
    fn a_parameter_without_a_name_is_sent_with_an_empty_one() {
        let (_repo, sidecar, app) = setup(&["true"], "");
        let app = app.with_parameters("[{string: x}, {array: [a]}]");
        let env = sidecar.env(&app, EnvFor::Generate);
        let get = |k: &str| env.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("ARGOCD_APP_PARAMETERS").unwrap(), r#"[{"name":"","string":"x"},{"array":["a"],"name":""}]"#);
        assert_eq!(get("PARAM_").unwrap(), "x");
        assert_eq!(get("PARAM__0").unwrap(), "a");
    }

    #[test]
    fn output_is_a_yaml_or_json_stream_of_objects_with_kind() {
        let a = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
        assert_eq!(parse_objects("").unwrap().len(), 0, "empty output is zero objects, not an error");
        assert_eq!(parse_objects(&format!("---\n{a}--- # next\n\n---\nnull\n---\n{a}")).unwrap().len(), 2);
        let list = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n";
        assert_eq!(parse_objects(list).unwrap()[0]["kind"], "Secret");
        let json = r#"{"apiVersion":"v1","kind":"A","metadata":{"name":"a"}} {"apiVersion":"v1","kind":"B","metadata":{"name":"b"}}"#;
        assert_eq!(parse_objects(json).unwrap()[1]["kind"], "B");
        assert!(parse_objects("a: 1\n").unwrap_err().starts_with("Object 'Kind' is missing"));
        assert!(parse_objects("- a\n").unwrap_err().starts_with("failed to unmarshal manifest"));
    }

    #[test]
    fn plugin_yaml_is_validated_like_cmp_server() {
        let dir = h::TempDir::new("plugin-yaml");
        let load = |text: &str| {
            h::write_file(&dir.path().join("p.yaml"), text);
            Plugin::load(&dir.path().join("p.yaml"))
        };
        assert!(load("kind: Plugin\nmetadata: {name: x}\nspec: {generate: {command: [a]}}\n")
            .unwrap_err()
            .contains("kind should be"));
        assert!(load("kind: ConfigManagementPlugin\nmetadata: {}\nspec: {generate: {command: [a]}}\n")
            .unwrap_err()
            .contains("metadata.name"));
        assert!(load("kind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {}\n")
            .unwrap_err()
            .contains("generate"));
        // An args-only generate is refused (`config.go:92`); an args-only init or find command is skipped.
        assert!(load("kind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {generate: {args: [a]}}\n")
            .unwrap_err()
            .contains("spec.generate command should be non-empty"));
        let p = load(
            "kind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {generate: {command: [a]}, init: {args: [b]}, discover: {find: {args: [c]}}}\n",
        )
        .unwrap();
        assert!(p.init.is_none() && p.discover.command.is_none() && !p.discover.is_configured());
        let p =
            load("kind: ConfigManagementPlugin\nmetadata: {name: x}\nspec: {Generate: {command: [a], args: [b]}}\n")
                .unwrap();
        assert_eq!(
            (p.socket_name().as_str(), p.generate.argv.as_slice()),
            ("x", ["a".to_owned(), "b".to_owned()].as_slice())
        );
    }

    #[test]
    fn globs_and_expansion_follow_go() {
        assert!(glob_match("./x/s*.yaml".trim_start_matches("./"), "x/spin.yaml"));
        assert!(!glob_match("*.yaml", "a/b.yaml"), "* does not cross /");
        assert!(glob_match("[a-c]?.y[^x]ml", "b1.yaml"));
        assert!(zglob_match("**/kustomization.yaml", "a/b/kustomization.yaml"));
        assert!(zglob_match("**/kustomization.yaml", "kustomization.yaml"));
        let vars = [("A", "1".to_owned())];
        assert_eq!(os_expand("$A-${A}-$$-$B-${}x-$", &vars), "1-1-$--x-$");
        assert_eq!(escaped("team.name-x"), "TEAM_NAME_X");
    }
}
