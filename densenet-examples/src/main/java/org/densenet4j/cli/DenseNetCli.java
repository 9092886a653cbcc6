package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;

import org.densenet4j.keras.WeightImportException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** The {@code densenet} command line. */
@Command(name = "densenet", mixinStandardHelpOptions = true, version = "DenseNet4J 0.1.0-SNAPSHOT",
        description = "DenseNet for Deeplearning4j: convert Keras weights, predict, inspect and export models.",
        subcommands = {SummaryCommand.class, ConvertCommand.class, FetchCommand.class, PredictCommand.class,
        FeaturesCommand.class,
                EvalCommand.class, ExportCommand.class, TrainCommand.class, FinetuneCommand.class, CompareCommand.class,
                TrainSegmentationCommand.class, SegmentCommand.class,
                BenchmarkCommand.class, DemoCommand.class,
                CommandLine.HelpCommand.class})
public final class DenseNetCli {

    /** Exit code of a problem with the user's input. */
    static final int EXIT_BAD_INPUT = 2;
    /** Exit code of an unexpected failure. */
    static final int EXIT_FAILURE = 1;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Log what DL4J does and print stack traces of errors.")
    boolean verbose;

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs the command line, printing to {@code out} and {@code err}; returns the exit code.
     *
     * @param commands further subcommands (picocli {@code @Command} objects), e.g. the Spark module's
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err, Object... commands) {
        boolean verbose = java.util.Arrays.asList(args).contains("--verbose");
        // Before any logger exists: DL4J's start-up chatter only when asked for.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "info" : "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        org.densenet4j.dl4j.NativeDefaults.apply();
        CommandLine cli = new CommandLine(new DenseNetCli());
        for (Object command : commands) {
            cli.addSubcommand(command);
        }
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            Throwable cause = e;
            int code = isUserError(cause) ? EXIT_BAD_INPUT : EXIT_FAILURE;
            // The library says what is wrong; the command line adds what to type about it.
            String what = cause instanceof java.nio.file.FileAlreadyExistsException exists
                    ? exists.getFile() + ": exists; pass --force to replace it" : message(cause);
            err.println("densenet " + commandLine.getCommandName() + ": " + what);
            if (verbose) {
                cause.printStackTrace(err);
            } else if (code == EXIT_FAILURE) {
                err.println("(run with --verbose for the stack trace)");
            }
            err.flush();
            return code;
        });
        try {
            return cli.execute(args);
        } catch (LinkageError e) { // ExceptionInInitializerError, UnsatisfiedLinkError, NoClassDefFoundError
            // ND4J loads its native backend on first use; without one (e.g. --cuda with no GPU) that fails here.
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            err.println("densenet: the ND4J backend could not start (" + message(root) + "). The CUDA backend needs "
                    + "an NVIDIA GPU with its driver, CUDA 11.6 and cuDNN 8.3; the CPU backend needs no set-up.");
            if (verbose) {
                e.printStackTrace(err);
            }
            err.flush();
            return EXIT_FAILURE;
        }
    }

    private static boolean isUserError(Throwable e) {
        return e instanceof UserError || e instanceof WeightImportException || e instanceof IOException
                || e instanceof IllegalArgumentException || e instanceof UnsupportedOperationException;
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
