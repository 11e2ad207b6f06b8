fn main() {
    let code = match dbarena::cli::run() {
        Ok(code) => code,
        Err(err) => {
            let code = err
                .downcast_ref::<dbarena::Error>()
                .map(|e| e.exit_code())
                .unwrap_or(dbarena::ExitCode::Failure);
            eprintln!("error: {err:#}");
            code
        }
    };
    std::process::exit(code as i32);
}
