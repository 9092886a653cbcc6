package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;

import org.densenet4j.examples.ImageModel;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.zoo.io.ImageTransform;

import picocli.CommandLine.Option;

/**
 * The options of the commands that run a trained model on images ({@code predict}, {@code features},
 * {@code eval}): the model, and how images are made into its input, which defaults to what the
 * model records (the transform its weights were trained and evaluated with).
 */
final class ImageModelOptions {

    @Option(names = "--model", required = true,
            description = "A model zip, or a preset id whose pretrained model is in the zoo cache.")
    String model;

    @Option(names = "--preprocess", description = "Image normalisation: caffe, torch or none (default: what the "
            + "model records: caffe for the original Keras port's Caffe-converted weights, torch for "
            + "keras.applications' and torchvision's).")
    String preprocess;

    @Option(names = "--size", description = "Stretch images to HxW (bilinear) instead of the model's recorded "
            + "transform (e.g. torchvision's resize of the shorter side to 256 and centre crop of 224; for a model "
            + "zip without a card: a stretch to 224x224 in colour, 28x28 in grayscale).")
    String size;

    /** Refuses a misspelt {@code --preprocess} or {@code --size} before the model loads. */
    void check() {
        if (preprocess != null) {
            ImageNetPreprocessor.Mode.fromId(preprocess);
        }
        if (size != null) {
            Models.parseInput(size);
        }
    }

    /** The model {@code --model} names ({@link Models#load}). */
    ImageModel load() throws IOException {
        return Models.load(model);
    }

    /** How images are made into {@code loaded}'s input: its recorded transform, as the options change it. */
    ImageTransform transform(ImageModel loaded, PrintWriter err) {
        return loaded.transform(size != null ? Models.parseInput(size) : null, preprocess, err);
    }
}
