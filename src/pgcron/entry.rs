//! The readers of pg_cron's `src/entry.c` (Vixie cron's, cut down): its in-memory `FILE`
//! with one NUL before EOF, and `get_list`, `get_range`, `get_number` as they are, so that
//! what pg_cron accepts, skips or refuses in a field is what mvtop does.

pub(super) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
pub(super) const DAYS: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

pub(super) const EOF: i32 = -1;

/// pg_cron's in-memory `FILE`: one NUL after the text, then EOF.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    unget: Option<i32>,
    /// Text inside a field that pg_cron skips without a word (`1#2` reads as `1`).
    pub(super) ignored: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str) -> Reader<'a> {
        Reader {
            data: text.as_bytes(),
            pos: 0,
            unget: None,
            ignored: Vec::new(),
        }
    }

    pub(super) fn next(&mut self) -> i32 {
        if let Some(c) = self.unget.take() {
            return c;
        }
        let c = match self.pos.cmp(&self.data.len()) {
            std::cmp::Ordering::Less => i32::from(self.data[self.pos]),
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => return EOF,
        };
        self.pos += 1;
        c
    }

    /// The text from the character `ch` just read (if any) on.
    pub(super) fn rest_from(&self, ch: i32) -> &str {
        let from = if ch > 0 { self.pos - 1 } else { self.pos };
        let from = from.min(self.data.len());
        std::str::from_utf8(&self.data[from..]).unwrap_or("")
    }

    /// Blank lines and `#` lines before the schedule are skipped, as in a crontab.
    pub(super) fn skip_comments(&mut self) {
        let mut ch;
        loop {
            ch = self.next();
            if ch == EOF {
                break;
            }
            while ch == b' ' as i32 || ch == b'\t' as i32 {
                ch = self.next();
            }
            if ch == EOF {
                break;
            }
            if ch != b'\n' as i32 && ch != b'#' as i32 {
                break;
            }
            while ch != b'\n' as i32 && ch != EOF {
                ch = self.next();
            }
        }
        if ch != EOF {
            self.unget = Some(ch);
        }
    }

    pub(super) fn skip_blanks(&mut self, mut ch: i32) -> i32 {
        while ch == b' ' as i32 || ch == b'\t' as i32 {
            ch = self.next();
        }
        ch
    }

    pub(super) fn skip_nonblanks(&mut self, mut ch: i32) -> i32 {
        while ch != b'\t' as i32 && ch != b' ' as i32 && ch != b'\n' as i32 && ch != EOF && ch != 0
        {
            ch = self.next();
        }
        ch
    }
}

pub(super) fn get_list(
    r: &mut Reader,
    mut ch: i32,
    bits: &mut u64,
    low: i64,
    high: i64,
    names: Option<&[&str]>,
) -> i32 {
    *bits = 0;
    loop {
        ch = get_range(r, ch, bits, low, high, names);
        if ch == b',' as i32 {
            ch = r.next();
        } else {
            break;
        }
    }
    if ch == EOF {
        return EOF;
    }
    let from = if ch > 0 { r.pos - 1 } else { r.pos };
    let ch = r.skip_nonblanks(ch);
    let to = if ch > 0 { r.pos - 1 } else { r.pos };
    if to > from {
        let skipped = String::from_utf8_lossy(&r.data[from..to.min(r.data.len())]).into_owned();
        r.ignored.push(skipped);
    }
    r.skip_blanks(ch)
}

fn get_range(
    r: &mut Reader,
    mut ch: i32,
    bits: &mut u64,
    low: i64,
    high: i64,
    names: Option<&[&str]>,
) -> i32 {
    let (num1, num2);
    if ch == b'*' as i32 {
        (num1, num2) = (low, high);
        ch = r.next();
        if ch == EOF {
            return EOF;
        }
    } else {
        let Some((n, c)) = get_number(r, ch, low, names) else {
            return EOF;
        };
        num1 = n;
        ch = c;
        if ch != b'-' as i32 {
            if ch == b'/' as i32 || n < low || n > high {
                return EOF;
            }
            *bits |= 1 << (n - low);
            return ch;
        }
        ch = r.next();
        if ch == EOF {
            return EOF;
        }
        let Some((n, c)) = get_number(r, ch, low, names) else {
            return EOF;
        };
        num2 = n;
        ch = c;
    }
    let step = if ch == b'/' as i32 {
        ch = r.next();
        if ch == EOF {
            return EOF;
        }
        match get_number(r, ch, 0, None) {
            Some((n, c)) if n > 0 => {
                ch = c;
                n
            }
            _ => return EOF,
        }
    } else {
        1
    };
    if num1 < low || num1 > high || num2 < low || num2 > high {
        return EOF;
    }
    let mut i = num1;
    while i <= num2 {
        *bits |= 1 << (i - low);
        i = i.saturating_add(step);
    }
    ch
}

/// Alphanumerics as a name (case-insensitive) or digits; None where pg_cron returns EOF.
fn get_number(r: &mut Reader, mut ch: i32, low: i64, names: Option<&[&str]>) -> Option<(i64, i32)> {
    let mut word = String::new();
    while ch > 0 && (ch as u8).is_ascii_alphanumeric() {
        if word.len() + 1 >= 1000 {
            return None;
        }
        word.push(ch as u8 as char);
        ch = r.next();
    }
    if word.is_empty() {
        return None;
    }
    if let Some(names) = names
        && let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(&word))
    {
        return Some((i as i64 + low, ch));
    }
    if word.bytes().all(|b| b.is_ascii_digit()) {
        // atoi: out-of-range values fail the range check that follows.
        return Some((word.parse().unwrap_or(i64::MAX), ch));
    }
    None
}
