package org.densenet4j.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Running the command lines in the test's JVM, and reading what they print, for the Spark CLI tests. */
final class CliFixtures {

    private CliFixtures() {
    }

    /** The exit code, output and error output of one command line run. */
    record Run(int code, String out, String err) {
    }

    static Run cli(boolean spark, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = spark ? org.densenet4j.spark.cli.SparkCli.run(args, new PrintWriter(out, true), new PrintWriter(err,
                true))
                : org.densenet4j.cli.DenseNetCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private static final java.util.regex.Pattern TEST_ACCURACY =
            java.util.regex.Pattern.compile("test acc (\\d\\.\\d+)");

    /** The last test accuracy a {@code train} or {@code spark-train} run printed. */
    static double testAccuracy(String out) {
        java.util.regex.Matcher m = TEST_ACCURACY.matcher(out);
        double last = Double.NaN;
        while (m.find()) {
            last = Double.parseDouble(m.group(1));
        }
        assertTrue(!Double.isNaN(last), "no test accuracy in: " + out);
        return last;
    }

    /** {@code a} then {@code b}. */
    static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
