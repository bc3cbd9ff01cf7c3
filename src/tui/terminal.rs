//! The terminal: raw mode, the alternate screen and (unless `--no-mouse`) mouse capture
//! while the console runs, restored on every way out — return, error, panic in any task,
//! SIGTERM, SIGHUP (a dropped SSH link).

use std::io::Write;
use std::mem::ManuallyDrop;
use std::sync::Mutex;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};

/// Work that must happen even when a panic ends the process (e.g. stopping the demo's
/// cluster).
type Cleanup = Box<dyn Fn() + Send>;
static CLEANUPS: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());

/// Runs `cleanup` if a panic ends the process while the console runs.
pub fn on_fatal_exit(cleanup: impl Fn() + Send + 'static) {
    if let Ok(mut c) = CLEANUPS.lock() {
        c.push(Box::new(cleanup));
    }
}

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    /// Dropped by hand: ratatui's own drop prints with `eprintln!`, which panics once the
    /// terminal is gone (a dropped SSH link), and must then be skipped.
    pub terminal: ManuallyDrop<DefaultTerminal>,
    /// The mouse is captured: released again on the way out.
    mouse: bool,
}

impl TerminalGuard {
    /// With `mouse`, the terminal reports clicks and the wheel (and leaves selecting text
    /// to Shift+drag, in most terminals); without, it is not asked to.
    pub fn enter(mouse: bool) -> std::io::Result<TerminalGuard> {
        let terminal = ratatui::try_init()?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore(mouse);
            previous(info);
            if let Ok(cleanups) = CLEANUPS.lock() {
                cleanups.iter().for_each(|c| c());
            }
            // A panic in a background task would leave a console that no longer works:
            // end the process, the terminal already restored.
            std::process::exit(101);
        }));
        let guard = TerminalGuard {
            terminal: ManuallyDrop::new(terminal),
            mouse,
        };
        if mouse {
            // After the guard exists: should this fail, its drop restores the rest.
            ratatui::crossterm::execute!(std::io::stdout(), EnableMouseCapture)?;
        }
        Ok(guard)
    }
}

/// The terminal as it was: mouse released (when it was captured), raw mode off, the normal
/// screen back.
fn restore(mouse: bool) {
    if mouse {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    }
    let _ = ratatui::try_restore();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore(self.mouse);
        if self.terminal.show_cursor().is_ok() {
            // SAFETY: dropped once, here; the field is never used after.
            unsafe { ManuallyDrop::drop(&mut self.terminal) };
        }
    }
}

/// OSC 52: the terminal puts `text` on its clipboard, also at the far end of an SSH link.
pub fn copy_to_clipboard(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\x1b]52;c;{}\x07", base64(text.as_bytes()));
    let _ = out.flush();
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("rpt.\"é\"".as_bytes()), "cnB0LiLDqSI=");
    }
}
