fn main() -> std::process::ExitCode {
    http_fileserver::cli::main(std::env::args_os().skip(1))
}
