package org.densenet4j.spark;

import static org.densenet4j.spark.CliFixtures.concat;
import static org.densenet4j.spark.CliFixtures.testAccuracy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

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


    @TempDir
    Path dir;

    @Test
    void twoWorkersReachNineTenthsOfTheSingleMachinesAccuracy() throws Exception {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist; .ci/run installs it)");
        Path settings = Path.of("..", "models", "densenet-fmnist.json");
        String[] common = {"--model", settings.toString(), "--epochs", "1", "--batch", "64", "--lr", "0.1",
            "--limit", "6000", "--test-limit", "5000"};
        CliFixtures.Run single = CliFixtures.cli(false, concat(new String[] {"train", "--out",
            dir.resolve("single.zip").toString()}, common));
        assertEquals(0, single.code(), single.err());
        CliFixtures.Run spark = CliFixtures.cli(true, concat(new String[] {"spark-train", "--master", "local[2]",
            "--out", dir.resolve("spark.zip").toString()}, common));
        assertEquals(0, spark.code(), spark.err());
        assertTrue(spark.out().contains("2 workers, averaging every 5 minibatches of 32 each"), spark.out());

        double alone = testAccuracy(single.out());
        double together = testAccuracy(spark.out());
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

    @Test
    void aStoppedRunResumesFromItsCheckpoint() throws Exception {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist; .ci/run installs it)");
        Path settings = Path.of("..", "models", "densenet-fmnist.json");
        Path out = Files.createDirectories(dir.resolve("stopped.zip")); // a folder: the run cannot write its model
        Files.writeString(out.resolve("in-the-way"), "x");
        String[] args = {"spark-train", "--master", "local[2]", "--model", settings.toString(), "--epochs", "2",
            "--batch", "32", "--limit", "640", "--test-limit", "200", "--out", out.toString(), "--force"};
        CliFixtures.Run stopped = CliFixtures.cli(true, args);
        assertTrue(stopped.code() != 0, stopped.out());
        assertTrue(stopped.out().contains("epoch 2/2"), stopped.out());
        assertTrue(Files.exists(dir.resolve("stopped-checkpoint.zip")), "the checkpoint after epoch 1 is kept");

        Files.delete(out.resolve("in-the-way"));
        Files.delete(out);
        CliFixtures.Run resumed = CliFixtures.cli(true, concat(args, new String[] {"--resume"}));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("resuming after epoch 1") && resumed.out().contains("epoch 2/2")
                && !resumed.out().contains("epoch 1/2"), resumed.out());
        assertEquals(10, ModelFiles.read(out, false).getOutputLayer(0).getParam("b").length());
        assertTrue(Files.notExists(dir.resolve("stopped-checkpoint.zip")), "a finished run removes its checkpoint");
    }


}
