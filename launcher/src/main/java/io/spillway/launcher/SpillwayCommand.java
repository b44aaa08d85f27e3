package io.spillway.launcher;

import io.spillway.node.NodeMain;
import io.spillway.simulator.cli.SimulateCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code spillway}: the command operators and developers meet first. */
@Command(name = "spillway", mixinStandardHelpOptions = true, version = "spillway 0.1.0",
    description = "Spillway: a federated GPU pool gateway.",
    subcommands = {DemoCommand.class, UpCommand.class, StatusCommand.class, LeasesCommand.class,
        NodeMain.class, ValidateCommand.class, RunCommand.class, AgentCommand.class,
        SimulateCommand.class, TokenCommand.class})
public final class SpillwayCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new SpillwayCommand()).execute(args));
  }
}
