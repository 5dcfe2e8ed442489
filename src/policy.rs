//! What may be served: the dotfile and symlink policies, each decided in one place.

/// Whether paths with a segment starting with `.` are served and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dotfiles {
    /// Such paths are 404 and such entries unlisted, except `.well-known` at the top.
    Hide,
    /// Served and listed like any other (Go's behaviour).
    Allow,
}

/// Which symlinks may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// Only those whose target's canonical path lies inside the root (the default).
    Inside,
    /// Any, as Go's `http.Dir` does.
    Any,
    /// None: a path through a symlink is not found.
    Deny,
}

/// Both policies, as every lookup under the root applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Which symlinks are followed.
    pub symlinks: Symlinks,
    /// Whether dotfiles are served: checked on the path as requested, and again on the path a
    /// symlink resolves to (a link `gitlink -> .git` must not serve `.git/config`).
    pub dotfiles: Dotfiles,
}

impl Dotfiles {
    /// Whether the segment `name` of a path is hidden; `top` when it is the path's first
    /// segment under the root, where `.well-known` is served (ACME challenges and
    /// security.txt live there).
    pub fn hides_segment(self, name: &[u8], top: bool) -> bool {
        self == Dotfiles::Hide && name.starts_with(b".") && !(top && name == b".well-known")
    }

    /// Whether any segment of `path` (relative to the root, segments joined by `/`) is hidden.
    pub fn hides_path(self, path: &[u8]) -> bool {
        self == Dotfiles::Hide
            && path
                .split(|&b| b == b'/')
                .enumerate()
                .any(|(i, segment)| self.hides_segment(segment, i == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_segments() {
        let hide = Dotfiles::Hide;
        assert!(hide.hides_path(b".git/config"));
        assert!(hide.hides_path(b"a/.env"));
        assert!(!hide.hides_path(b".well-known/security.txt"));
        assert!(hide.hides_path(b"a/.well-known/x"));
        assert!(hide.hides_path(b".well-known/.x"));
        assert!(!hide.hides_path(b"a/b.c"));
        assert!(!hide.hides_path(b""));
        assert!(!Dotfiles::Allow.hides_path(b".git/config"));
        assert!(hide.hides_segment(b".env", true));
        assert!(!hide.hides_segment(b".well-known", true));
        assert!(hide.hides_segment(b".well-known", false));
    }
}
