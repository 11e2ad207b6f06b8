//! CSV through the `csv` crate: fields are quoted where they need it (commas, quotes, line
//! breaks in labels, URLs or error messages), never by hand.

/// The rows as CSV bytes (the first row is the header).
pub fn to_bytes(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_that_need_it_are_quoted() {
        let rows = vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["x,y".to_string(), "say \"hi\"".to_string()],
        ];
        let s = String::from_utf8(super::to_bytes(&rows)).unwrap();
        assert_eq!(s, "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
    }
}
