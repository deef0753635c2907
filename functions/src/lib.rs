//! spinnaker-krm's transform, as a library with no I/O: bytes in, bytes out, errors as values.
//!
//! Data flows one way: bytes → [`krm::ResourceList`] (lossless [`yaml::Node`]s) → typed
//! [`config::SpinnakerPlatform`] → a plan per target → edits on nodes → bytes.

pub mod bom;
pub mod config;
pub mod krm;
pub mod order;
pub mod releases;
pub mod service;
pub mod transform;
pub mod verify;
pub mod yaml;
