"""A small DICOM upper layer for the hot paths that pynetdicom makes slow.

pynetdicom passes every PDU between two threads that poll each other with 1 ms sleeps and
decodes every fragment in Python (../../shared/PYNETDICOM.md measured the cost). The
receiver's storage associations read PDUs here instead, with large blocking receives that go
straight into the spool file. Association negotiation still uses pynetdicom's PDU classes.
"""
