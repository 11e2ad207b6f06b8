//! Small helpers shared by several modules.

pub mod csv;
pub mod duration;
pub mod fsx;
pub mod runtime;
pub mod signals;
pub mod stdout;
pub mod time;
