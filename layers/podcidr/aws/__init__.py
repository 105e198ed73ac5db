"""AWS access: clients and the translation of AWS faults into podcidr's errors."""
