package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code densenet compare} on a few Fashion-MNIST records (Debian's dataset-fashion-mnist) at a
 * small size: the table, the curves and the plot of both networks, and a comparison continued.
 */
class CompareCommandTest {

    @TempDir
    Path dir;

    /** A small comparison into {@code out}; an option of {@code more} that the defaults set replaces their value. */
    private String[] args(Path out, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("compare", "--epochs", "2", "--batch", "32", "--size", "32",
                "--limit", "64", "--test-limit", "32", "--out", out.toString()));
        for (int i = 0; i < more.length; i++) {
            int at = a.indexOf(more[i]);
            if (at > 0 && i + 1 < more.length) {
                a.set(at + 1, more[++i]);
            } else {
                a.add(more[i]);
            }
        }
        return a.toArray(String[]::new);
    }

    @Test
    void writesTheTableTheCurvesAndOnePlotOfBothAndContinuesAComparison() throws Exception {
        Path out = dir.resolve("cmp");
        // DenseNet first, alone: a comparison stopped after one model.
        Cli.Run first = Cli.run(args(out, "--models", "densenet-d2l"));
        assertEquals(0, first.code(), first.err());

        Cli.Run exists = Cli.run(args(out));
        Cli.assertBadInput(exists, "holds an earlier comparison; pass --resume to continue it or --force");

        Cli.Run both = Cli.run(args(out, "--models", "resnet18-d2l,densenet-d2l", "--resume", "--force"));
        Cli.assertBadInput(both, "--resume and --force contradict each other");

        Cli.Run r = Cli.run(args(out, "--models", "resnet18-d2l,densenet-d2l", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("densenet-d2l: finished earlier (2 epochs"), r.out());
        assertTrue(r.out().contains("resnet18-d2l epoch 2/2: loss"), r.out());
        assertFalse(r.out().contains("densenet-d2l epoch 1/2"), "the finished model is not trained again");

        List<String> table = Files.readAllLines(out.resolve("comparison.md"));
        assertEquals("2 epochs, batches of 32, 32x32, SGD; 64 training and 32 test images", table.get(0));
        assertTrue(table.get(2).startsWith("| model | parameters |"), table.get(2));
        // the counts ResNetTest and D2lDenseNetTest pin (DL4J's, batch-norm statistics included)
        assertTrue(table.get(4).startsWith("| resnet18-d2l | 11,186,186 | 0.05 |"), table.get(4));
        assertTrue(table.get(5).startsWith("| densenet-d2l | 764,834 | 0.1 |"), table.get(5));
        assertFalse(table.get(2).contains("book"), "the book's figures only beside the book's settings");

        List<String> csv = Files.readAllLines(out.resolve("comparison.csv"));
        assertEquals("model,epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_s", csv.get(0));
        assertEquals(5, csv.size());
        assertTrue(csv.get(1).startsWith("resnet18-d2l,1,"), csv.get(1));
        assertTrue(csv.get(4).startsWith("densenet-d2l,2,"), csv.get(4));
        BufferedImage png = ImageIO.read(out.resolve("comparison.png").toFile());
        assertEquals(1340, png.getWidth(), "three panels");
        assertTrue(Files.list(out).noneMatch(p -> p.getFileName().toString().endsWith("-checkpoint.zip")),
                "no checkpoint once both are done");

        // Taken up again as it is, without training; other settings are refused, naming the file.
        String before = Files.readString(out.resolve("comparison.md"));
        Cli.Run again = Cli.run(args(out, "--resume"));
        assertEquals(0, again.code(), again.err());
        assertFalse(again.out().contains("epoch 1/2"), again.out());
        assertEquals(before, Files.readString(out.resolve("comparison.md")));
        Cli.Run other = Cli.run(args(out, "--resume", "--epochs", "3"));
        Cli.assertBadInput(other, "resnet18-d2l-result.json: was written by a comparison with other settings");
    }

    @Test
    void unknownModelsAndBadNumbersAreOneLine() {
        Cli.assertBadInput(Cli.run(args(dir.resolve("a"), "--models", "vgg11")),
                "--models: unknown model 'vgg11'; known: resnet18-d2l, densenet-d2l");
        Cli.assertBadInput(Cli.run(args(dir.resolve("b"), "--models", "densenet-d2l,densenet-d2l")),
                "--models names densenet-d2l twice");
        Cli.assertBadInput(Cli.run(args(dir.resolve("c"), "--size", "0")), "--epochs, --batch and --size must be >= 1");
        assertFalse(Files.exists(dir.resolve("a")), "nothing written");
    }
}
