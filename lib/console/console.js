// the console's script (issue 15)
