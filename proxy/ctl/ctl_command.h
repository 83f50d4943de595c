// `cutover ctl`: the command-line client of the admin API (docs/ctl.md). Registers its
// subcommands on the binary's CLI11 app and runs the one that was given.
//
//   auto ctl = cutover::proxy::ctl::AddCommand(app);
//   try { app.parse(argc, argv); } catch (const CLI::ParseError& e) { return ctl->Exit(e); }
//   if (ctl->parsed()) return ctl->Run();
//
// Ownership: the CtlCommand holds the variables CLI11 writes the flags into, so it must outlive
// the parse; the App holds pointers into it. One thread.
#pragma once

#include <memory>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace cutover::proxy::ctl {

class CtlCommand {
 public:
  virtual ~CtlCommand() = default;

  // True when `ctl` was on the command line.
  virtual bool parsed() const = 0;

  // Runs the parsed subcommand; returns the exit code.
  virtual int Run() = 0;

  // CLI11's report of a bad command line (or of --help), and the exit code: 0 for help, 2 for
  // a `ctl` usage error (as documented), CLI11's own code for the binary's other commands.
  virtual int Exit(const CLI::ParseError& error) = 0;
};

std::unique_ptr<CtlCommand> AddCommand(CLI::App& app);

}  // namespace cutover::proxy::ctl
