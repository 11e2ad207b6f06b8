//! Random values: a small fast generator, key distributions and column values.

pub mod dist;
pub mod keys;
pub mod places;
pub mod rng;
pub mod template;
pub mod values;
pub mod weighted;
pub mod words;

pub use dist::KeyDist;
pub use rng::Rng;
