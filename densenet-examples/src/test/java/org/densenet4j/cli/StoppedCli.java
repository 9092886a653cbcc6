package org.densenet4j.cli;

import java.nio.file.Path;
import java.util.Arrays;

import org.densenet4j.zoo.io.StoppedWriter;

/**
 * {@code densenet} with its model write stopped at {@code args[0]} (marker {@code args[1]}), for kill tests: it stops
 * at its first model write to reach that point.
 */
public final class StoppedCli {

    private StoppedCli() {
    }

    /** Stops at {@code args[0]}, marking {@code args[1]}; runs the command line on the rest. */
    public static void main(String[] args) {
        StoppedWriter.install(args[0], Path.of(args[1]));
        DenseNetCli.main(Arrays.copyOfRange(args, 2, args.length));
    }
}
