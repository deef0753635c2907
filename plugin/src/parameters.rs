//! ArgoCD Application parameters, both ways. In: `spec.source.plugin.parameters` reach `generate` as the
//! env argocd-cmp-server builds (`ARGOCD_APP_PARAMETERS`, a JSON array, and `PARAM_<NAME>` per value)
//! and become flat functionConfig overrides (`bom-version=1.27.0`). Out: `spinnaker-krm parameters`
//! prints the announcement the ArgoCD UI shows (`parameters.dynamic` in plugin.yaml), with the values
//! the app's spinnaker-krm.yaml sets today.
//!
//! The announcement covers the everyday keys; plugin.yaml announces the rest statically. Together they are
//! every key of `FLAT_KEYS`, and no key is in both: ArgoCD appends the static list after the dynamic one
//! and the later entry wins, which would hide the current value.

use crate::failure::Failure;
use crate::render::{read_config, DEFAULT_CONFIG};
use functions::config::{SpinnakerPlatform, FLAT_KEYS};
use functions::service::Service;
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::Path;

/// The overrides the Application's parameters ask for, in the order given. `ARGOCD_APP_PARAMETERS` is the
/// source when set (it carries arrays and maps intact); otherwise `PARAM_<ESCAPED KEY>` string values.
pub fn from_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Result<Vec<(String, String)>, Failure> {
    let vars: Vec<(String, String)> =
        vars.filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    if let Some((_, text)) = vars.iter().find(|(k, _)| k == "ARGOCD_APP_PARAMETERS") {
        return from_json(text);
    }
    Ok(FLAT_KEYS
        .iter()
        .filter_map(|(key, _)| {
            let var = format!("PARAM_{}", escaped(key));
            vars.iter().find(|(k, _)| *k == var).map(|(_, v)| ((*key).to_owned(), v.clone()))
        })
        .collect())
}

/// ArgoCD's env name escaping: upper case, then every character outside `[A-Z0-9_]` becomes `_`.
fn escaped(name: &str) -> String {
    name.to_uppercase().chars().map(|c| if c.is_ascii_uppercase() || c.is_ascii_digit() { c } else { '_' }).collect()
}

fn from_json(text: &str) -> Result<Vec<(String, String)>, Failure> {
    let bad = |problem: String| {
        Failure::input(format!(
            "ARGOCD_APP_PARAMETERS {problem}; ArgoCD sets it from the Application's spec.source.plugin.parameters: fix them there"
        ))
    };
    let list = match serde_json::from_str::<Value>(text) {
        Ok(Value::Null) => return Ok(Vec::new()),
        Ok(Value::Array(list)) => list,
        Ok(_) => return Err(bad("is not a JSON array".to_owned())),
        Err(e) => return Err(bad(format!("is not valid JSON ({e})"))),
    };
    let mut overrides = Vec::with_capacity(list.len());
    for (i, parameter) in list.iter().enumerate() {
        let Some(name) = parameter.get("name").and_then(Value::as_str) else {
            return Err(bad(format!("entry {i} has no name")));
        };
        let not_strings = || bad(format!("parameter {name} holds a value that is not a string"));
        let value = if let Some(string) = parameter.get("string") {
            string.as_str().ok_or_else(not_strings)?.to_owned()
        } else if let Some(array) = parameter.get("array").and_then(Value::as_array) {
            let items: Option<Vec<&str>> = array.iter().map(Value::as_str).collect();
            items.ok_or_else(not_strings)?.join(",")
        } else if let Some(map) = parameter.get("map").and_then(Value::as_object) {
            let pairs: Option<Vec<String>> = map.iter().map(|(k, v)| Some(format!("{k}={}", v.as_str()?))).collect();
            pairs.ok_or_else(not_strings)?.join(",")
        } else {
            return Err(bad(format!("parameter {name} has no string, array or map value")));
        };
        overrides.push((name.to_owned(), value));
    }
    Ok(overrides)
}

/// `spinnaker-krm parameters`: the announcement for the app directory's functionConfig (the working directory).
pub fn run(config: Option<&Path>) -> Result<String, Failure> {
    let function_config = read_config(config.unwrap_or(Path::new(DEFAULT_CONFIG)))?;
    let mut platform = SpinnakerPlatform::from_function_config_unpinned(&function_config)?;
    if SpinnakerPlatform::named_namespace(&function_config).is_none() {
        // Unset, `generate` takes the Application's destination namespace (which the announcement's env lacks).
        platform.spec.namespace.clear();
    }
    Ok(announce(&platform))
}

/// The JSON array of ParameterAnnouncements for `parameters.dynamic`, with the config's current values.
pub fn announce(config: &SpinnakerPlatform) -> String {
    let spec = &config.spec;
    let string = |name: &str, title: &str, tooltip: &str, value: &str| json!({"name": name, "title": title, "tooltip": tooltip, "collectionType": "string", "string": value});
    let announcements = vec![
        string(
            "bom-version",
            "Spinnaker version (BOM)",
            "The Spinnaker release every image is pinned to; bom/<version>.yml must be in Git beside spinnaker-krm.yaml",
            &spec.bom.version,
        ),
        string(
            "namespace",
            "Spinnaker namespace",
            "Where Spinnaker runs: used for service DNS names, certificates and trust distribution; empty means the Application's destination namespace, which it must equal",
            &spec.namespace,
        ),
        string(
            "truststore-mode",
            "Truststore",
            "init-container (keytool builds it), trust-manager (a Bundle's PKCS12 target) or none",
            spec.truststore.mode.as_str(),
        ),
        string(
            "trust-namespace",
            "trust-manager namespace",
            "trust-manager's trust namespace: where the CA Certificate and its Secret live",
            &spec.truststore.trust_namespace,
        ),
        string("mtls-enabled", "mTLS", "true or false", if spec.mtls.enabled { "true" } else { "false" }),
        string(
            "client-auth",
            "Client certificates",
            "need or want, for every JVM service but gate",
            spec.mtls.client_auth.as_str(),
        ),
        string(
            "gate-listener",
            "Gate's listener",
            "http (browsers, the ingress and deck reach gate as before; gate still calls the others over mTLS) or https (the ingress must speak HTTPS to gate)",
            spec.mtls.gate_listener().as_str(),
        ),
        string(
            "gate-client-auth",
            "Client certificates for gate",
            "want (browsers and the ingress have none) or need; only for gate-listener https",
            spec.mtls.client_auth_for(Service::Gate).as_str(),
        ),
        string(
            "bom-registry",
            "Image registry",
            "Replaces the BOM's docker registry for every Spinnaker image; empty keeps the BOM's",
            spec.bom.registry.as_deref().unwrap_or(""),
        ),
        json!({
            "name": "services",
            "title": "Services to change",
            "tooltip": "Only these Spinnaker services are changed; empty means every one found",
            "collectionType": "array",
            "array": spec.services.iter().map(|s| s.name()).collect::<Vec<_>>(),
        }),
        json!({
            "name": "extra-pins",
            "title": "Extra image pins",
            "tooltip": "Image tags for services the BOM does not carry (keel), merged over spinnaker-krm.yaml",
            "collectionType": "map",
            "map": spec.bom.extra_pins.iter().map(|(s, tag)| (s.name().to_owned(), Value::from(tag.as_str()))).collect::<serde_json::Map<_, _>>(),
        }),
    ];
    let mut out = Value::Array(announcements).to_string();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (OsString, OsString)> {
        pairs.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect::<Vec<_>>().into_iter()
    }

    #[test]
    fn the_json_form_carries_strings_arrays_and_maps() {
        let json = r#"[{"name":"bom-version","string":"1.27.0"},{"array":["gate","orca"],"name":"services"},{"map":{"keel":"0.1.0","rosco":"1.7.3"},"name":"extra-pins"}]"#;
        let got = from_env(env(&[("ARGOCD_APP_PARAMETERS", json), ("PARAM_BOM_VERSION", "ignored")])).unwrap();
        let want = [("bom-version", "1.27.0"), ("services", "gate,orca"), ("extra-pins", "keel=0.1.0,rosco=1.7.3")];
        assert_eq!(got, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[test]
    fn no_parameters_and_a_plugin_block_without_them_mean_no_overrides() {
        assert!(from_env(env(&[("HOME", "/home/argocd")])).unwrap().is_empty());
        assert!(from_env(env(&[("ARGOCD_APP_PARAMETERS", "null")])).unwrap().is_empty());
    }

    #[test]
    fn without_the_json_the_param_variables_are_read() {
        let got = from_env(env(&[("PARAM_CLIENT_AUTH", "want"), ("PARAM_BOM_VERSION", "1.27.0"), ("PARAM_X", "y")]));
        let want = [("bom-version", "1.27.0"), ("client-auth", "want")];
        assert_eq!(got.unwrap(), want.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert_eq!(escaped("ca-bundle.key/x"), "CA_BUNDLE_KEY_X");
    }

    #[test]
    fn malformed_parameters_are_one_line_errors_with_the_fix() {
        for (json, needle) in [
            ("[{", "is not valid JSON"),
            ("{}", "is not a JSON array"),
            (r#"[{"string":"x"}]"#, "entry 0 has no name"),
            (r#"[{"name":"services","array":[1]}]"#, "parameter services holds a value that is not a string"),
            (r#"[{"name":"namespace"}]"#, "parameter namespace has no string, array or map value"),
        ] {
            let failure = from_env(env(&[("ARGOCD_APP_PARAMETERS", json)])).unwrap_err();
            assert!(failure.headline.contains(needle), "{json}: {}", failure.headline);
            assert!(failure.headline.contains("spec.source.plugin.parameters"), "{}", failure.headline);
            assert!(!failure.headline.contains('\n'));
        }
    }

    #[test]
    fn the_announcement_names_only_known_keys_with_current_values() {
        let mut config = SpinnakerPlatform::default();
        config.spec.bom.version = "1.27.0".to_owned();
        let announced: Vec<Value> = serde_json::from_str(&announce(&config)).unwrap();
        for a in &announced {
            let name = a["name"].as_str().unwrap();
            assert!(FLAT_KEYS.iter().any(|(k, _)| *k == name), "{name} is not a flat key");
        }
        assert_eq!(announced[0]["string"], "1.27.0");
        assert_eq!(announced.iter().find(|a| a["name"] == "gate-client-auth").unwrap()["string"], "want");
    }
}
