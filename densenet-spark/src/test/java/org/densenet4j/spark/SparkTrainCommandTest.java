package org.densenet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.densenet4j.examples.FashionMnist;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code densenet spark-train} with two workers in local[2] against {@code densenet train} with the
 * same settings on the same 6,000 Fashion-MNIST images for one epoch: at least 0.9x its test
 * accuracy, and the same kind of model zip.
 */
class SparkTrainCommandTest {

    private static final Pattern ACCURACY = Pattern.compile("test acc (\\d\\.\\d+)");

    @TempDir
    Path dir;

    @Test
    void twoWorkersReachNineTenthsOfTheSingleMachinesAccuracy() throws Exception {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist; .ci/run installs it)");
        Path settings = Path.of("..", "models", "densenet-fmnist.json");
        String[] common = {"--model", settings.toString(), "--epochs", "1", "--batch", "64", "--lr", "0.1",
            "--limit", "6000", "--test-limit", "5000"};
        SparkFixtures.Run single = SparkFixtures.cli(false, concat(new String[] {"train", "--out",
            dir.resolve("single.zip").toString()}, common));
        assertEquals(0, single.code(), single.err());
        SparkFixtures.Run spark = SparkFixtures.cli(true, concat(new String[] {"spark-train", "--master", "local[2]",
            "--out", dir.resolve("spark.zip").toString()}, common));
        assertEquals(0, spark.code(), spark.err());
        assertTrue(spark.out().contains("2 workers, averaging every 5 minibatches of 32 each"), spark.out());

        double alone = accuracy(single.out());
        double together = accuracy(spark.out());
        System.out.printf("test accuracy after one epoch of 6,000 images: train %.4f, spark-train (2 workers) %.4f%n",
                alone, together);
        assertTrue(alone > 0.5, "train learnt: " + single.out());
        assertTrue(together >= 0.9 * alone, "spark-train " + together + " against train " + alone);

        var net = ModelFiles.read(dir.resolve("spark.zip"), false);
        assertEquals(10, net.getOutputLayer(0).getParam("b").length());
        ModelCard card = ModelCard.read(dir.resolve("spark.zip")).orElseThrow();
        assertEquals(FashionMnist.LABELS, card.labels());
        assertEquals(ModelCard.STORED, card.preprocessing());
        assertTrue(Files.notExists(dir.resolve("spark-checkpoint.zip")), "the finished run's checkpoint is gone");
    }

    private static double accuracy(String out) {
        Matcher m = ACCURACY.matcher(out);
        double last = Double.NaN;
        while (m.find()) {
            last = Double.parseDouble(m.group(1));
        }
        assertTrue(!Double.isNaN(last), "no test accuracy in: " + out);
        return last;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
