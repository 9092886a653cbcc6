package org.densenet4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

import org.densenet4j.training.Epoch;

/** Per-epoch training results, written as CSV and as a PNG plot of loss and accuracy. */
public final class TrainingCurves {

    private final List<Epoch> epochs = new ArrayList<>();

    /** Records an epoch. */
    public void add(Epoch e) {
        epochs.add(e);
    }

    /** The epochs recorded so far. */
    public List<Epoch> epochs() {
        return List.copyOf(epochs);
    }

    /** The CSV columns of an epoch, as {@link #writeCsv} writes them. */
    static final String CSV_COLUMNS = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_s";

    /** Writes the CSV atomically (temporary file, then rename). */
    public void writeCsv(Path file) throws IOException {
        StringBuilder sb = new StringBuilder(CSV_COLUMNS).append('\n');
        for (Epoch e : epochs) {
            sb.append(csvRow(e)).append('\n');
        }
        org.densenet4j.zoo.io.AtomicFile.write(file, tmp -> Files.writeString(tmp, sb, StandardCharsets.UTF_8));
    }

    /** An epoch as a CSV row of {@link #CSV_COLUMNS}. */
    static String csvRow(Epoch e) {
        return String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f", e.epoch(), e.trainLoss(),
                e.trainAccuracy(), e.testLoss(), e.testAccuracy(), e.seconds(), e.imagesPerSecond());
    }

    /** Writes a PNG with two panels, loss and accuracy per epoch, train and test. */
    public void writePng(Path file, String title) throws IOException {
        LinePlot.write(file, title, List.of(panel("loss", Epoch::trainLoss, Epoch::testLoss),
                panel("accuracy", Epoch::trainAccuracy, Epoch::testAccuracy)));
    }

    private LinePlot.Panel panel(String name, ToDoubleFunction<Epoch> train, ToDoubleFunction<Epoch> test) {
        return new LinePlot.Panel(name, List.of(line("train", LinePlot.COLOURS.get(0), epochs, train),
                line("test", LinePlot.COLOURS.get(1), epochs, test)));
    }

    /** The line of one value of {@code epochs}. */
    static LinePlot.Line line(String label, java.awt.Color colour, List<Epoch> epochs, ToDoubleFunction<Epoch> value) {
        return new LinePlot.Line(label, colour, epochs.stream().mapToInt(Epoch::epoch).toArray(),
                epochs.stream().mapToDouble(value).toArray());
    }
}
