//! `loaxa-web`: the operator's console as its own process (`loaxa web` runs it), so the
//! airing daemon's binary and memory carry none of the web stack.

fn main() -> std::process::ExitCode {
    loaxa::web::main(&[loaxa::web::settings::check])
}
