package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line in-process for the tests, and the assertion every bad-input case shares. */
final class Cli {

    private Cli() {
    }

    /** What a run printed and returned. */
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = DenseNetCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** Exit code 2 and a single line on stderr that contains {@code parts}. */
    static void assertBadInput(Run r, String... parts) {
        assertEquals(2, r.code(), () -> "exit code; stderr: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), () -> "one line, no stack trace: " + r.err());
        for (String p : parts) {
            assertTrue(r.err().contains(p), () -> "expected '" + p + "' in: " + r.err());
        }
    }
}
