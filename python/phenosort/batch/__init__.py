"""Predict a folder of image pairs into an output folder: ``phenosort predict`` and the demo.

One module per job:

- :mod:`.runner`: the folder run, start to end (:func:`~.runner.predict_folder`);
- :mod:`.image_job`: one image: predict it, write its files, return its table rows;
- :mod:`.serial`: the images one after the other in this process, with a classifier here;
- :mod:`.remote`: the same with a server's model (``--server``);
- :mod:`.cluster`: the images as tasks on Dask distributed, each worker loading the model;
- :mod:`.outputs`: never write into the data folder, never replace without ``--overwrite``;
- :mod:`.tables`: ``objects.csv`` and ``summary.csv``;
- :mod:`.status`: what is printed at the end, and the exit status.
"""
