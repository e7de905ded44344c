//! stub

pub fn document() -> serde_json::Value {
    serde_json::json!({})
}

pub fn verify(_doc: &serde_json::Value, _findings: &mut Vec<String>) -> Result<(), String> {
    Ok(())
}
