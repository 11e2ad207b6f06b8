//! Printing to standard output without `println!`'s panic when the reader went away
//! (`dbarena compare --json | head -1`): a closed pipe just ends the output.

use std::io::Write;

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn print(text: &str) -> Result<(), crate::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::Error::Io {
            path: "standard output".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Pretty JSON and a newline to stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), crate::Error> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::Error::Failed(format!("cannot print JSON: {e}")))?;
    print(&format!("{text}\n"))
}
