"""The use cases: cameras, zones, reports, users and who may do what, over store and runners."""
