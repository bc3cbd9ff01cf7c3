//! PostgreSQL's lexical rules (`src/backend/parser/scan.l`), as far as finding statements and
//! names in a pg_cron job's command needs them: whitespace, `--` and nested `/* */` comments,
//! `'...'` (standard_conforming_strings, the default since 9.1), `E'...'` with backslash
//! escapes, `U&'...'`/`U&"..."` with Unicode escapes, `$tag$...$tag$`, `"quoted"` identifiers,
//! unquoted identifiers folded to lower case (ASCII only, as in UTF-8 databases) and cut to
//! 63 bytes like the server does (NAMEDATALEN - 1).

/// Identifiers longer than this are truncated by the server (with a NOTICE).
pub const MAX_IDENT_BYTES: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An unquoted identifier or keyword, folded to lower case.
    Word(String),
    /// A `"quoted"` identifier, exactly as written (inner `""` made one).
    Quoted(String),
    /// A string constant's value.
    Str(String),
    Semicolon,
    Dot,
    Comma,
    Open,
    Close,
    /// `=`, `::`, numbers, `$1` and every other token: only their presence matters.
    Other(String),
}

/// One token and where it starts and ends in the text (bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexeme {
    pub token: Token,
    pub start: usize,
    pub end: usize,
}

/// The command's tokens; an unterminated quote or comment ends the text (the server would
/// refuse the whole command, which is said by `error`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lexed {
    pub lexemes: Vec<Lexeme>,
    pub error: Option<String>,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_ident_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == '$'
}

/// Cuts at a character boundary at or below 63 bytes, as `truncate_identifier` does.
pub fn truncate_ident(mut s: String) -> String {
    if s.len() > MAX_IDENT_BYTES {
        let mut cut = MAX_IDENT_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

pub fn lex(text: &str) -> Lexed {
    let mut out = Lexed::default();
    let b = text.as_bytes();
    let mut i = 0;
    let push = |out: &mut Lexed, token, start, end| out.lexemes.push(Lexeme { token, start, end });
    while i < b.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if text[i..].starts_with("--") {
            i = text[i..].find('\n').map_or(b.len(), |n| i + n + 1);
        } else if text[i..].starts_with("/*") {
            let mut depth = 0;
            loop {
                if text[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if text[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= b.len() {
                    out.error = Some("unterminated /* comment".into());
                    return out;
                } else {
                    i += 1;
                }
            }
        } else if c == '\'' {
            match quoted(text, i, '\'', false) {
                Ok((s, end)) => {
                    push(&mut out, Token::Str(s), start, end);
                    i = end;
                }
                Err(e) => return fail(out, e),
            }
        } else if (c == 'e' || c == 'E') && b.get(i + 1) == Some(&b'\'') {
            match quoted(text, i + 1, '\'', true) {
                Ok((s, end)) => {
                    push(&mut out, Token::Str(s), start, end);
                    i = end;
                }
                Err(e) => return fail(out, e),
            }
        } else if matches!(c, 'n' | 'N' | 'b' | 'B' | 'x' | 'X') && b.get(i + 1) == Some(&b'\'') {
            match quoted(text, i + 1, '\'', false) {
                Ok((s, end)) => {
                    push(&mut out, Token::Str(s), start, end);
                    i = end;
                }
                Err(e) => return fail(out, e),
            }
        } else if (c == 'u' || c == 'U')
            && b.get(i + 1) == Some(&b'&')
            && matches!(b.get(i + 2), Some(b'\'') | Some(b'"'))
        {
            let q = b[i + 2] as char;
            match quoted(text, i + 2, q, false) {
                Ok((raw, end)) => {
                    let (escape, end) = uescape(text, end);
                    let s = match unicode_escapes(&raw, escape) {
                        Ok(s) => s,
                        Err(e) => return fail(out, e),
                    };
                    let token = if q == '"' {
                        Token::Quoted(truncate_ident(s))
                    } else {
                        Token::Str(s)
                    };
                    push(&mut out, token, start, end);
                    i = end;
                }
                Err(e) => return fail(out, e),
            }
        } else if c == '"' {
            match quoted(text, i, '"', false) {
                Ok((s, _)) if s.is_empty() => {
                    return fail(out, "zero-length delimited identifier".into());
                }
                Ok((s, end)) => {
                    push(&mut out, Token::Quoted(truncate_ident(s)), start, end);
                    i = end;
                }
                Err(e) => return fail(out, e),
            }
        } else if c == '$'
            && let Some((tag_end, tag)) = dollar_tag(text, i)
        {
            match text[tag_end..].find(tag) {
                Some(n) => {
                    let body = text[tag_end..tag_end + n].to_string();
                    let end = tag_end + n + tag.len();
                    push(&mut out, Token::Str(body), start, end);
                    i = end;
                }
                None => return fail(out, "unterminated dollar-quoted string".into()),
            }
        } else if is_ident_start(c) {
            let len: usize = text[i..]
                .chars()
                .take_while(|&c| is_ident_cont(c))
                .map(char::len_utf8)
                .sum();
            let word = text[i..i + len].to_ascii_lowercase();
            push(&mut out, Token::Word(truncate_ident(word)), start, i + len);
            i += len;
        } else {
            let (token, len) = match c {
                ';' => (Token::Semicolon, 1),
                '.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => (Token::Dot, 1),
                ',' => (Token::Comma, 1),
                '(' => (Token::Open, 1),
                ')' => (Token::Close, 1),
                c if c.is_ascii_digit() || c == '.' || c == '$' => {
                    let len = text[i + 1..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
                        .count()
                        + 1;
                    (Token::Other(text[i..i + len].to_string()), len)
                }
                c => (Token::Other(c.to_string()), c.len_utf8()),
            };
            push(&mut out, token, start, i + len);
            i += len;
        }
    }
    out
}

fn fail(mut out: Lexed, e: String) -> Lexed {
    out.error = Some(e);
    out
}

/// A quoted run starting at `open` (the quote), doubled quotes inside; with `backslashes`,
/// E'' escapes. Returns the value and the index after the closing quote.
fn quoted(text: &str, open: usize, q: char, backslashes: bool) -> Result<(String, usize), String> {
    let mut s = String::new();
    let mut chars = text[open + 1..].char_indices().peekable();
    while let Some((k, c)) = chars.next() {
        if c == q {
            if chars.peek().map(|&(_, n)| n) == Some(q) {
                chars.next();
                s.push(q);
                continue;
            }
            return Ok((s, open + 1 + k + 1));
        }
        if backslashes && c == '\\' {
            let Some((_, e)) = chars.next() else { break };
            match e {
                'n' => s.push('\n'),
                't' => s.push('\t'),
                'r' => s.push('\r'),
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'x' => {
                    let mut v = 0u32;
                    for _ in 0..2 {
                        match chars.peek().and_then(|&(_, h)| h.to_digit(16)) {
                            Some(d) => {
                                v = v * 16 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    s.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                'u' | 'U' => {
                    let n = if e == 'u' { 4 } else { 8 };
                    let mut v = 0u32;
                    for _ in 0..n {
                        match chars.next().and_then(|(_, h)| h.to_digit(16)) {
                            Some(d) => v = v * 16 + d,
                            None => return Err("invalid Unicode escape in E'' string".into()),
                        }
                    }
                    s.push(char::from_u32(v).ok_or("invalid Unicode escape value")?);
                }
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek().and_then(|&(_, h)| h.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    s.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                other => s.push(other),
            }
            continue;
        }
        s.push(c);
    }
    Err(if q == '"' {
        "unterminated quoted identifier".into()
    } else {
        "unterminated quoted string".into()
    })
}

/// An optional `UESCAPE 'c'` after a U& constant.
fn uescape(text: &str, after: usize) -> (char, usize) {
    let rest = &text[after..];
    let trimmed = rest.trim_start();
    let skipped = rest.len() - trimmed.len();
    if trimmed.len() >= 10 && trimmed[..7].eq_ignore_ascii_case("uescape") {
        let t = trimmed[7..].trim_start();
        let mut cs = t.chars();
        if let (Some('\''), Some(c), Some('\'')) = (cs.next(), cs.next(), cs.next()) {
            let end = after + skipped + 7 + (trimmed[7..].len() - t.len()) + 2 + c.len_utf8();
            return (c, end);
        }
    }
    ('\\', after)
}

fn unicode_escapes(raw: &str, esc: char) -> Result<String, String> {
    let mut s = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != esc {
            s.push(c);
            continue;
        }
        if chars.peek() == Some(&esc) {
            chars.next();
            s.push(esc);
            continue;
        }
        let n = if chars.peek() == Some(&'+') {
            chars.next();
            6
        } else {
            4
        };
        let mut v = 0u32;
        for _ in 0..n {
            match chars.next().and_then(|h| h.to_digit(16)) {
                Some(d) => v = v * 16 + d,
                None => return Err("invalid Unicode escape".into()),
            }
        }
        s.push(char::from_u32(v).ok_or("invalid Unicode escape value")?);
    }
    Ok(s)
}

/// `$tag$` at `i`: the index after it and the whole tag. `$1` (a parameter) is not one.
fn dollar_tag(text: &str, i: usize) -> Option<(usize, &str)> {
    let rest = &text[i + 1..];
    let mut len = 0;
    for (k, c) in rest.char_indices() {
        if c == '$' {
            return Some((i + 1 + k + 1, &text[i..i + 1 + k + 1]));
        }
        let ok = if k == 0 {
            is_ident_start(c)
        } else {
            is_ident_start(c) || c.is_ascii_digit()
        };
        if !ok {
            return None;
        }
        len += c.len_utf8();
    }
    let _ = len;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(t: &str) -> Vec<Token> {
        let l = lex(t);
        assert_eq!(l.error, None, "{t}");
        l.lexemes.into_iter().map(|l| l.token).collect()
    }

    fn w(s: &str) -> Token {
        Token::Word(s.into())
    }

    #[test]
    fn comments_strings_and_quotes() {
        assert_eq!(
            tokens("Refresh /* a /* nested */ ; */ VIEW -- ; x\n\"A\"\"b\""),
            vec![w("refresh"), w("view"), Token::Quoted("A\"b".into())]
        );
        assert_eq!(
            tokens("'it''s;' E'a\\'b\\n' $$x;y$$ $f$ $$ $f$ $1"),
            vec![
                Token::Str("it's;".into()),
                Token::Str("a'b\n".into()),
                Token::Str("x;y".into()),
                Token::Str(" $$ ".into()),
                Token::Other("$1".into()),
            ]
        );
        assert_eq!(
            tokens("U&\"d\\0061t\\+000061\" U&'!0041' UESCAPE '!'"),
            vec![Token::Quoted("data".into()), Token::Str("A".into())]
        );
        // Non-ASCII letters are identifier characters and are not folded.
        assert_eq!(tokens("Störungen_É"), vec![w("störungen_É")]);
        assert_eq!(tokens("a$b"), vec![w("a$b")]);
    }

    #[test]
    fn long_identifiers_are_cut_like_the_server_does() {
        let long = "é".repeat(40);
        let Token::Quoted(q) = &tokens(&format!("\"{long}\""))[0] else {
            panic!()
        };
        assert_eq!(q.len(), 62);
        let Token::Word(wd) = &tokens(&"x".repeat(70))[0] else {
            panic!()
        };
        assert_eq!(wd.len(), 63);
    }

    #[test]
    fn unterminated_text_is_an_error() {
        for t in ["'abc", "\"abc", "/* x", "$a$ b", "\"\""] {
            assert!(lex(t).error.is_some(), "{t}");
        }
    }
}
