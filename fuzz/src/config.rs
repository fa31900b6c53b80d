//! The config file (`/etc/outboard.toml`): its text through the same reader
//! `outboard serve` and `outboard config check` use.

/// A config file's text (lossy UTF-8). When it is accepted, the settings
/// `outboard config check` prints for it must read back as the same
/// settings: that output is TOML a user may copy into a config file.
pub fn config_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(shown) = outboard::config::check_text(&text) else { return };
    match outboard::config::check_text(&shown) {
        Ok(again) => assert_eq!(shown, again, "the settings `config check` printed read back as others"),
        Err(e) => panic!("the settings `config check` printed do not read back: {e}\n{shown}"),
    }
}
