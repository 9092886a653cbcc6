package org.densenet4j.spark;

import static org.densenet4j.spark.CliFixtures.concat;
import static org.densenet4j.spark.CliFixtures.testAccuracy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.densenet4j.examples.FashionMnist;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.nativeblas.NativeOps;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * {@code densenet-spark} on a Spark standalone cluster of separate JVMs (a Master, two Workers of
 * one core each, an executor per Worker, the driver in {@code spark-submit}), loopback only: the
 * {@code spark-assembly} jar is submitted as {@code spark-submit --master spark://...} submits it, so
 * the model, the images' rows, the training data and the parameters cross process boundaries and the
 * executors load this project, DL4J and ND4J from that jar alone. The cluster's {@code SPARK_HOME}
 * holds the jars Maven resolves for Spark on its own (src/it/spark-home), as a distribution has
 * them; Maven builds the assembly before the tests (the cluster-test profile).
 *
 * <p>{@code spark-features} gives the values of the single machine's {@code features}, reports a
 * corrupt image and goes on; {@code spark-train} reaches 0.9x the single machine's accuracy; and a
 * Worker killed with its executor in the middle of a featurize job costs no row and repeats none:
 * Spark runs the lost tasks again on the other Worker. Every process is stopped afterwards (also
 * when a test fails, and by a shutdown hook when the test JVM is stopped).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class SparkClusterTest {

    private static final Duration START = Duration.ofMinutes(2);
    private static final Duration JOB = Duration.ofMinutes(5);
    /** JavaCPP's limits for the driver and the executors: ND4J's arrays and the engine's buffers live off the heap. */
    private static final String NATIVE_MEMORY =
            "-Dorg.bytedeco.javacpp.maxbytes=2g -Dorg.bytedeco.javacpp.maxphysicalbytes=4g";
    private static final int PARTITIONS = 8;
    private static final Pattern APP_ID = Pattern.compile("app ID (app-[0-9-]+)");
    private static final Pattern FEATURIZE_TIME = Pattern.compile("features computed in ([0-9.]+) s");

    @TempDir
    static Path dir;

    private static StandaloneCluster cluster;
    private static Path assembly;
    private static Path model;
    private static Path images;
    private static Path corrupt;
    private static Map<String, double[]> expected;
    /** The single machine's featurize figures, on all its cores and on one. */
    private static Featurize single;
    private static Featurize singleCore;

    @BeforeAll
    static void startCluster() throws Exception {
        assembly = Path.of(required("densenet4j.spark.assembly"));
        assertTrue(Files.isRegularFile(assembly), assembly + ": no spark-assembly jar (Maven's cluster-test profile "
                + "builds it before the tests)");
        List<Path> sparkJars = Arrays.stream(Files.readString(Path.of(required("densenet4j.spark.home.classpath")))
                .trim().split(java.io.File.pathSeparator)).map(Path::of).toList();

        // The single machine's features first, with no cluster yet to share the cores with.
        model = SparkFixtures.bc40Model(dir);
        images = dir.resolve("images");
        SparkFixtures.colourImages(images, 40, 5);
        List<String> good;
        try (Stream<Path> files = Files.list(images)) {
            good = files.map(Path::toString).sorted().toList();
        }
        corrupt = images.resolve("corrupt.png"); // a PNG cut off in its image data
        Path png = Path.of(good.stream().filter(f -> f.endsWith(".png")).findFirst().orElseThrow());
        byte[] bytes = Files.readAllBytes(png);
        Files.write(corrupt, Arrays.copyOf(bytes, bytes.length / 2));
        Path csv = dir.resolve("features.csv");
        Featurize.features(good.subList(0, 8), csv); // this JVM's first model compiled, its JIT warmed
        NativeOps ops = NativeOpsHolder.getInstance().getDeviceNativeOps();
        int threads = ops.ompGetMaxThreads();
        ops.setOmpNumThreads(1); // as TaskCores runs an executor's task on its one core
        try {
            singleCore = Featurize.measure(good, csv);
        } finally {
            ops.setOmpNumThreads(threads);
        }
        single = Featurize.measure(good, csv);
        expected = SparkFixtures.readFeatures(List.of(csv));
        assertEquals(good.size(), expected.size());

        cluster = StandaloneCluster.start(sparkJars, dir.resolve("cluster"), 2, 1, "2g", START);
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (cluster != null) {
            cluster.close();
            cluster.keepLogs(Path.of("target", "spark-cluster-logs")); // for a failed run's reader
        }
    }

    @Test
    @Order(1)
    void featuresOnTwoWorkersAreTheFeaturesOfOneMachine() throws Exception {
        Path out = dir.resolve("features-out");
        CliFixtures.Run run = cluster.submit("features", features(out, PARTITIONS)).await(JOB);
        assertEquals(0, run.code(), StandaloneCluster.tail(run.err()));
        assertCorruptImageReported(run);
        SparkFixtures.assertSameFeatures(expected, SparkFixtures.readFeatures(SparkFixtures.parts(out)));
        assertTrue(run.err().contains("(executor 0)") && run.err().contains("(executor 1)"),
                "tasks ran on both executors:\n" + StandaloneCluster.tail(run.err()));

        // The figures: the whole featurize (spark-features' count of the rows, the fresh executors' start
        // included), and past each executor's first task (its model read and compiled) from the driver's log.
        Matcher time = FEATURIZE_TIME.matcher(run.out());
        assertTrue(time.find(), run.out());
        double clusterSeconds = Double.parseDouble(time.group(1));
        String stage = firstMatch(run.err(), Pattern.compile("Submitting " + PARTITIONS
                + " missing tasks from \\w+ (\\d+) "));
        double clusterSteady = steadyImagesPerSecond(run.err(), stage, (expected.size() + 1.0) / PARTITIONS);
        int n = expected.size();
        System.out.printf(Locale.ROOT, "featurize %d images (DenseNet-BC-40, 96x96, batch 8), images/s with the "
                + "model's read and compile (past them): one machine, %d cores: %.1f (%.1f); one machine, 1 core: "
                + "%.1f (%.1f); 2 workers x 1 core, spark-features: %.1f with the executors' start (%.1f past each "
                + "one's first task); efficiency of 2 workers against 2 x one core %.2f, against one machine %.2f%n", n,
                Runtime.getRuntime().availableProcessors(), n / single.seconds(), single.steady(),
                n / singleCore.seconds(), singleCore.steady(), n / clusterSeconds, clusterSteady,
                clusterSteady / (2 * singleCore.steady()), clusterSteady / single.steady());
    }

    @Test
    @Order(2)
    void trainingOnTwoWorkersReachesNineTenthsOfOneMachinesAccuracy() throws Exception {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist; .ci/run installs it)");
        // A small DenseNet-BC (blocks 2/2, k=8) so that an epoch of 3,000 images stays short on one core.
        Path settings = Files.writeString(dir.resolve("small-densenet.json"), "{\"stem\": \"CIFAR\", "
                + "\"growthRate\": 8, \"initialFilters\": 16, \"blockLayers\": [2, 2], \"bottleneck\": true, "
                + "\"compression\": 0.5, \"numClasses\": 10}");
        String[] common = {"--model", settings.toString(), "--epochs", "1", "--batch", "32", "--lr", "0.1",
            "--limit", "3000", "--test-limit", "1000"};
        CliFixtures.Run oneMachine = CliFixtures.cli(false, concat(new String[] {"train", "--out",
            dir.resolve("single.zip").toString()}, common));
        assertEquals(0, oneMachine.code(), oneMachine.err());

        Path zip = dir.resolve("spark.zip");
        CliFixtures.Run spark = cluster.submit("train", submit(concat(new String[] {"spark-train", "--out",
            zip.toString()}, common))).await(JOB);
        assertEquals(0, spark.code(), StandaloneCluster.tail(spark.err()));
        assertTrue(spark.out().contains("spark://127.0.0.1:") && spark.out().contains("2 workers"), spark.out());

        double alone = testAccuracy(oneMachine.out());
        double together = testAccuracy(spark.out());
        System.out.printf(Locale.ROOT, "test accuracy after one epoch of 3,000 images: train %.4f, spark-train on the "
                + "cluster (2 workers) %.4f%n", alone, together);
        assertTrue(alone > 0.3, "train learnt: " + oneMachine.out());
        assertTrue(together >= 0.9 * alone, "spark-train " + together + " against train " + alone);
        assertEquals(10, ModelFiles.read(zip, false).getOutputLayer(0).getParam("b").length());
        assertEquals(FashionMnist.LABELS, ModelCard.read(zip).orElseThrow().labels());
    }

    @Test
    @Order(3)
    void aWorkerKilledMidJobCostsNoRowAndRepeatsNone() throws Exception {
        long deadline = System.nanoTime() + JOB.toNanos();
        Path out = dir.resolve("killed-out");
        StandaloneCluster.Submission job = cluster.submit("killed", features(out, 5));
        String app = await(job, APP_ID, deadline);
        // The featurize stage is the first of --partitions tasks (the files' scan before it has its own split,
        // 3 tasks for these 81 files: Spark packs small files into splits of up to 128 MB, 4 MB a file).
        String stage = await(job, Pattern.compile("Submitting 5 missing tasks from \\w+ (\\d+) "), deadline);
        // The kill lands while worker 2's executor runs its first featurize task (the model read and compiled,
        // then 16 images: seconds, where a later task of 16 images takes a fraction of one, too short to aim at),
        // worker 1 on its own. The executor's log says what runs on it.
        Pattern running = Pattern.compile("Running task \\d+\\.\\d+ in stage " + stage + "\\.\\d+ ");
        Pattern finished = Pattern.compile("Finished task \\d+\\.\\d+ in stage " + stage + "\\.\\d+ ");
        StandaloneCluster.await(() -> {
            String log = executorLogs(cluster.workDir(2).resolve(app));
            if (count(finished, log) > 0 || FEATURIZE_TIME.matcher(job.out()).find() || !job.running()) {
                throw new AssertionError("worker 2 finished its first featurize task before it was seen running:\n"
                        + StandaloneCluster.tail(job.err()));
            }
            return count(running, log) == 1;
        }, deadline, "worker 2's executor to be featurizing");
        cluster.killWorker(2);

        CliFixtures.Run run = job.await(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        assertEquals(0, run.code(), StandaloneCluster.tail(run.err()));
        // The task worker 2 was running is lost and runs again on worker 1. Spark does that one of two legal
        // ways, as the timing decides: a new attempt of the task in the same stage attempt (task N.1 in
        // stage S.0), or, when another task's fetch of the dead worker's shuffle files fails first, the whole
        // stage resubmitted (tasks N.0 in stage S.1). Either is a featurize task run again.
        assertTrue(ranAgain(run.err(), stage),
                "a featurize task ran again:\n" + lines(run.err(), "lost|Lost|LOST|failed|stage " + stage + "\\."));
        assertCorruptImageReported(run);
        // readFeatures fails on a file named twice; the same key set means none is missing
        SparkFixtures.assertSameFeatures(expected, SparkFixtures.readFeatures(SparkFixtures.parts(out)));
    }

    /**
     * Whether the driver's log shows a task of {@code stage} started again: a later task attempt or a later stage
     * attempt.
     */
    static boolean ranAgain(String log, String stage) {
        Matcher start = Pattern.compile("Starting task \\d+\\.(\\d+) in stage " + Pattern.quote(stage) + "\\.(\\d+) ")
                .matcher(log);
        while (start.find()) {
            if (Integer.parseInt(start.group(1)) > 0 || Integer.parseInt(start.group(2)) > 0) {
                return true;
            }
        }
        return false;
    }

    private static void assertCorruptImageReported(CliFixtures.Run run) {
        assertTrue(run.err().contains("not decoded: " + corrupt + ": "), StandaloneCluster.tail(run.err()));
        assertTrue(run.out().contains(expected.size() + " images x ") && run.out().contains("1 did not decode"),
                run.out());
    }

    /**
     * Images/s of the executors together past each one's first task of {@code stage} (where it reads
     * and compiles the model), from the task times in the driver's log, {@code rowsPerTask} rows a task.
     */
    private static double steadyImagesPerSecond(String log, String stage, double rowsPerTask) {
        Map<String, List<Long>> taskMs = new java.util.TreeMap<>();
        Matcher task = Pattern.compile("Finished task \\d+\\.\\d+ in stage " + stage + "\\.0 \\(TID \\d+\\) in "
                + "(\\d+) ms on 127\\.0\\.0\\.1 \\(executor (\\d+)\\)").matcher(log);
        while (task.find()) {
            taskMs.computeIfAbsent(task.group(2), k -> new ArrayList<>()).add(Long.parseLong(task.group(1)));
        }
        double perSecond = 0;
        for (List<Long> ms : taskMs.values()) {
            List<Long> warm = ms.subList(1, ms.size());
            if (!warm.isEmpty()) {
                perSecond += rowsPerTask * warm.size() / (warm.stream().mapToLong(Long::longValue).sum() / 1e3);
            }
        }
        return perSecond;
    }

    /**
     * {@code densenet features} in this JVM: the seconds it takes for all the images (the model read
     * and compiled included), and its images/s past that fixed cost (the time of 8 images taken off);
     * each the better of two runs, the machine being shared.
     */
    private record Featurize(double seconds, double steady) {

        static Featurize measure(List<String> files, Path csv) {
            double few = Double.MAX_VALUE;
            double all = Double.MAX_VALUE;
            for (int run = 0; run < 2; run++) {
                few = Math.min(few, features(files.subList(0, 8), csv));
                all = Math.min(all, features(files, csv));
            }
            return new Featurize(all, (files.size() - 8) / (all - few));
        }

        static double features(List<String> files, Path csv) {
            List<String> args = new ArrayList<>(List.of("features", "--model", model.toString(), "--out",
                    csv.toString(), "--batch", "8", "--force", "--images"));
            args.addAll(files);
            long start = System.nanoTime();
            CliFixtures.Run run = CliFixtures.cli(false, args.toArray(String[]::new));
            assertEquals(0, run.code(), run.err());
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** spark-submit's arguments for spark-features of the images to {@code out} in {@code partitions} tasks. */
    private static List<String> features(Path out, int partitions) {
        return submit("spark-features", "--model", model.toString(), "--images", images.toString(), "--out",
                out.toString(), "--batch", "8", "--partitions", Integer.toString(partitions));
    }

    /** spark-submit's arguments for the assembly's command line with {@code app} as its arguments. */
    private static List<String> submit(String... app) {
        List<String> args = new ArrayList<>(List.of("--master", cluster.masterUrl(), "--deploy-mode", "client",
                "--class", "org.densenet4j.spark.cli.SparkCli", "--driver-memory", "1g", "--executor-memory", "1g",
                "--executor-cores", "1", "--total-executor-cores", "2",
                "--conf", "spark.driver.host=127.0.0.1",
                // both executors registered before the first job, so that both take part in every one
                "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s",
                "--conf", "spark.driver.extraJavaOptions=" + NATIVE_MEMORY,
                "--conf", "spark.executor.extraJavaOptions=" + NATIVE_MEMORY,
                assembly.toString()));
        args.addAll(List.of(app));
        return args;
    }

    /** Group 1 of {@code pattern}'s first match in the driver's log, once there is one. */
    private static String await(StandaloneCluster.Submission job, Pattern pattern, long deadline)
            throws InterruptedException {
        StandaloneCluster.await(() -> pattern.matcher(job.err()).find(), deadline, "the driver to log " + pattern);
        return firstMatch(job.err(), pattern);
    }

    private static String firstMatch(String log, Pattern pattern) {
        Matcher m = pattern.matcher(log);
        assertTrue(m.find(), "no " + pattern + " in:\n" + StandaloneCluster.tail(log));
        return m.group(1);
    }

    /** The logs of an application's executors on one Worker ({@code APP/EXECUTOR/stderr}). */
    private static String executorLogs(Path appDir) {
        if (!Files.isDirectory(appDir)) {
            return "";
        }
        try (Stream<Path> files = Files.walk(appDir, 2)) {
            StringBuilder logs = new StringBuilder();
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                logs.append(Files.readString(f));
            }
            return logs.toString();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The lines of {@code log} that match {@code regex}. */
    private static String lines(String log, String regex) {
        Pattern p = Pattern.compile(regex);
        return Arrays.stream(log.split("\n")).filter(l -> p.matcher(l).find())
                .collect(java.util.stream.Collectors.joining("\n"));
    }

    private static int count(Pattern p, String text) {
        return (int) p.matcher(text).results().count();
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        assertTrue(value != null, "system property " + property + " is not set: run this test with Maven's test "
                + "phase (densenet-spark's cluster-test profile sets it)");
        return value;
    }


}
