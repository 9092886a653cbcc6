package org.densenet4j.spark.cli;

import java.io.PrintWriter;

import org.apache.spark.sql.SparkSession;
import org.densenet4j.cli.DenseNetCli;

/** The {@code densenet} command line with the Spark commands ({@code spark-features}, {@code spark-train}). */
public final class SparkCli {

    private SparkCli() {
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line, printing to {@code out} and {@code err}; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        if (!java.util.Arrays.asList(args).contains("--verbose")) {
            // Spark's and Hadoop's start-up warnings (host name, native libraries) are not the user's business
            System.setProperty("org.slf4j.simpleLogger.log.org.apache.spark", "error");
            System.setProperty("org.slf4j.simpleLogger.log.org.apache.hadoop", "error");
            System.setProperty("org.slf4j.simpleLogger.log.org.sparkproject", "error");
        }
        return DenseNetCli.run(args, out, err, new SparkFeaturesCommand(), new SparkTrainCommand());
    }

    /**
     * The session of a command: on {@code master} when given, else where spark-submit's
     * {@code spark.master} says, else on all local cores.
     */
    static SparkSession session(String app, String master) {
        SparkSession.Builder b = SparkSession.builder().appName(app)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "8");
        if (master != null) {
            b.master(master);
        } else if (!new org.apache.spark.SparkConf().contains("spark.master")) {
            b.master("local[*]");
        }
        return b.getOrCreate();
    }
}
